// A BrokerLink's subscriptions change while it is connected, at the broker (not only by local filtering).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus } from "../../../lib/bus.js";
import { Broker, BrokerLink } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

describe("zeromq broker: subscriptions at run time", () => {
  it("subscribe/unsubscribe change what the broker routes to a connected link", async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort(), heartbeatInterval: 100 });
    const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort };
    const sender = await BrokerLink.connect({ bus: new Bus(), ...ports, importFilters: ["none:none"] });
    const receiver = new Bus();
    const got: string[] = [];
    receiver.follow("*:*", (m) => void got.push(m.id));
    const link = await BrokerLink.connect({ bus: receiver, ...ports, importFilters: ["a:*"] });
    t.after(async () => {
      await sender.close();
      await link.close();
      broker.close();
    });
    await link.subscribe("b:*");
    assert.deepEqual(link.importFilters, ["a:*", "b:*"]);
    sender.bus.twitter("b:x", 1);
    await waitFor(() => got.length === 1, "b:x after subscribe");
    assert.equal(await link.unsubscribe("a:*"), true);
    const unrouted = broker.stats.unrouted;
    sender.bus.twitter("a:x", 2);
    await waitFor(() => broker.stats.unrouted === unrouted + 1, "the broker no longer routes a:* to the link");
    sender.bus.twitter("b:y", 3);
    await waitFor(() => got.length === 2, "b:y");
    assert.deepEqual(got, ["b:x", "b:y"]);
  });

  it('importFilters: "followers" subscribes to exactly what the bus follows, as followers come and go', async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort(), heartbeatInterval: 100, resendInterval: 100 });
    const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort };
    const sender = await BrokerLink.connect({ bus: new Bus(), ...ports, importFilters: ["none:none"], acknowledge: ["job:*"] });
    const worker = new Bus();
    const link = await BrokerLink.connect({ bus: worker, ...ports, importFilters: "followers" });
    t.after(async () => {
      await sender.close();
      await link.close();
      broker.close();
    });
    assert.deepEqual(link.importFilters, []);
    sender.bus.twitter("job:run", 1); // acknowledged: held until someone follows job:*
    await waitFor(() => broker.held === 1, "held with no follower");
    const runs: unknown[] = [];
    const stop = worker.follow("job:*", (m) => void runs.push(m.args[0]));
    await waitFor(() => runs.length === 1, "the held message once the bus follows job:*");
    await waitFor(() => broker.held === 0, "acknowledged");
    stop();
    await waitFor(() => link.importFilters.length === 0, "unsubscribed when the last follower left");
    const unrouted = broker.stats.unrouted;
    sender.bus.twitter("log:line", "x");
    await waitFor(() => broker.stats.unrouted === unrouted + 1, "nothing routed to a bus without followers");
    await sleep(100);
    assert.deepEqual(runs, [1]);
  });
});
