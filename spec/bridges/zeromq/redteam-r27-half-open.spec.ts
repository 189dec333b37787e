// r27 red team: a BrokerLink whose connection to the broker's recv port went half-open (its side gone, the
// broker's open and silent: a NAT rebinding, a link dead without a TCP close). The link's DEALER connects
// again under its routing id, and the broker's ROUTER, still holding that id for the old connection, never
// serves the new one (libzmq refuses a duplicate routing id) while nothing closes the old: the link's
// batches were never taken, and the broker forgot the link (its HELLOs unread), delivering it nothing more.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Broker, BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { halfOpenRelay } from "../../helpers/half-open-relay.js";
import { waitFor } from "../../helpers/wait-for.js";

describe("zeromq broker: a half-open client connection (r27)", () => {
  it("a link whose connection went half-open is served again on its new connection", { timeout: 20_000 }, async (t) => {
    const broker = await Broker.start({ pubPort: 0, recvPort: 0, heartbeatInterval: 200, clientTimeout: 1_000 });
    broker.on("error", () => undefined);
    const relay = await halfOpenRelay(broker.recvPort);
    const worker = new Bus({ id: "worker" });
    const got: number[] = [];
    worker.follow("job:run", (m) => void got.push(m.args[0] as number));
    const workerLink = await BrokerLink.connect({ bus: worker, pubPort: broker.pubPort, recvPort: broker.recvPort, importFilters: ["job:*"], heartbeatInterval: 200 });
    const sender = await BrokerLink.connect({
      bus: new Bus({ id: "sender" }),
      pubPort: broker.pubPort,
      recvPort: relay.port,
      importFilters: ["reply:*"],
      heartbeatInterval: 200,
      sendTimeout: 500,
      retryDelay: { initial: 50, max: 200 },
    });
    sender.on("error", () => undefined);
    const replies: number[] = [];
    sender.bus.follow("reply:run", (m) => void replies.push(m.args[0] as number));
    t.after(async () => {
      await sender.close();
      await workerLink.close();
      await relay.close();
      broker.close();
    });
    sender.bus.twitter("job:run", 1);
    await waitFor(() => got.length === 1, "the first message");
    relay.cutClientSide();
    sender.bus.twitter("job:run", 2);
    await waitFor(() => got.length === 2, "a message sent after the cut, on the new connection", 8_000);
    // And the broker still knows the link (its HELLOs are read): it is delivered to.
    worker.twitter("reply:run", 3);
    await waitFor(() => replies.length === 1, "a delivery to the link after the cut", 4_000);
    assert.deepEqual(got, [1, 2]);
  });
});
