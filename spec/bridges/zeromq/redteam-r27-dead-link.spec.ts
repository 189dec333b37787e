// r27 red team: a BrokerLink whose connections to the broker die without a TCP close either way (a host
// powered off, a cable cut; here a relay that passes nothing more and closes nothing). Neither the link's
// DEALER nor its SUB ever noticed: no ZMTP heartbeats, so each stayed on its dead connection for good (until
// TCP gave up, if ever: the SUB sends nothing), and the link never reached the broker again although new
// connections would have.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Broker, BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { halfOpenRelay } from "../../helpers/half-open-relay.js";
import { waitFor } from "../../helpers/wait-for.js";

describe("zeromq broker: a dead link (r27)", () => {
  it("a link whose connections went dead both ways connects again and is served", { timeout: 20_000 }, async (t) => {
    const broker = await Broker.start({ pubPort: 0, recvPort: 0, heartbeatInterval: 200, clientTimeout: 1_000, resendInterval: 200 });
    broker.on("error", () => undefined);
    const pubRelay = await halfOpenRelay(broker.pubPort);
    const recvRelay = await halfOpenRelay(broker.recvPort);
    const worker = new Bus({ id: "worker" });
    const got: number[] = [];
    worker.follow("job:run", (m) => void got.push(m.args[0] as number));
    const workerLink = await BrokerLink.connect({ bus: worker, pubPort: broker.pubPort, recvPort: broker.recvPort, importFilters: ["job:*"], acknowledge: ["reply:*"], heartbeatInterval: 200 });
    const link = await BrokerLink.connect({
      bus: new Bus({ id: "cut" }),
      pubPort: pubRelay.port,
      recvPort: recvRelay.port,
      importFilters: ["reply:*"],
      heartbeatInterval: 200,
      sendTimeout: 500,
      retryDelay: { initial: 50, max: 200 },
    });
    link.on("error", () => undefined);
    const replies: number[] = [];
    link.bus.follow("reply:run", (m) => void replies.push(m.args[0] as number));
    t.after(async () => {
      await link.close();
      await workerLink.close();
      await pubRelay.close();
      await recvRelay.close();
      broker.close();
    });
    link.bus.twitter("job:run", 1);
    await waitFor(() => got.length === 1, "the first message");
    pubRelay.silence();
    recvRelay.silence();
    link.bus.twitter("job:run", 2);
    await waitFor(() => got.length === 2, "a message sent after the links died, on new connections", 8_000);
    await waitFor(() => broker.clients === 2, "the link registered again");
    worker.twitter("reply:run", 3); // acknowledged: resent until the link's SUB is connected again
    await waitFor(() => replies.length === 1, "a delivery to the link on its new SUB connection", 5_000);
    assert.deepEqual(got, [1, 2]);
  });

  it("the broker closes a subscriber connection whose far side is gone (rather than queueing for it for good)", { timeout: 10_000 }, async (t) => {
    const broker = await Broker.start({ pubPort: 0, recvPort: 0, heartbeatInterval: 200, clientTimeout: 1_000 });
    broker.on("error", () => undefined);
    const pubRelay = await halfOpenRelay(broker.pubPort);
    const link = await BrokerLink.connect({ bus: new Bus(), pubPort: pubRelay.port, recvPort: broker.recvPort, importFilters: ["a:b"], heartbeatInterval: 200 });
    link.on("error", () => undefined);
    t.after(async () => {
      await link.close();
      await pubRelay.close();
      broker.close();
    });
    pubRelay.cutClientSide();
    await waitFor(() => pubRelay.closedByServer === 1, "the broker's PUB closed the half-open connection", 5_000);
  });
});
