import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Bus } from "../../../lib/bus.js";
import type { BerryError } from "../../../lib/errors.js";
import { Broker, BrokerFullError, BrokerLink } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

async function startBroker(extra: Partial<Parameters<typeof Broker.start>[0]> = {}): Promise<Broker> {
  return Broker.start({ pubPort: await freePort(), recvPort: await freePort(), resendInterval: 100, heartbeatInterval: 100, ...extra });
}

describe("zeromq broker: fan-out by berryMQ patterns", () => {
  let broker: Broker;
  const links: BrokerLink[] = [];
  const connect = async (bus: Bus, importFilters?: string[]): Promise<BrokerLink> => {
    const link = await BrokerLink.connect({ bus, pubPort: broker.pubPort, recvPort: broker.recvPort, ...(importFilters ? { importFilters } : {}) });
    links.push(link);
    return link;
  };
  before(async () => {
    broker = await startBroker();
  });
  after(async () => {
    for (const link of links) await link.close();
    broker.close();
  });

  it("delivers to each client only what its subscription patterns match, wildcards on both sides", async () => {
    const sender = new Bus({ id: "sender" });
    const orders = new Bus({ id: "orders" });
    const stops = new Bus({ id: "stops" });
    await connect(sender, ["nothing-here:x"]);
    await connect(orders, ["orders:*"]);
    await connect(stops, ["*:stop"]);
    const gotOrders: string[] = [];
    const gotStops: string[] = [];
    orders.follow("*:*", (m) => void gotOrders.push(m.id));
    stops.follow("*:*", (m) => void gotStops.push(m.id));
    sender.twitter("orders:new", 1);
    sender.twitter("worker:stop");
    sender.twitter("*:stop"); // a sender's wildcard reaches both
    sender.twitter("unrelated:event");
    await waitFor(() => gotOrders.length === 2 && gotStops.length === 2, "routed messages");
    await sleep(200);
    assert.deepEqual(gotOrders, ["orders:new", "*:stop"]);
    assert.deepEqual(gotStops, ["worker:stop", "*:stop"]);
    assert.ok(broker.stats.unrouted >= 1, "unrelated:event had no subscriber");
  });

  it("carries names with any character, '|' included", async () => {
    const a = new Bus();
    const b = new Bus();
    await connect(a, ["none:none"]);
    await connect(b, ["a|b/c.d€:do|it"]);
    const got: string[] = [];
    b.follow("*:*", (m) => void got.push(m.id));
    a.twitter("a|b/c.d€:do|it", "x");
    await waitFor(() => got.length === 1, "message with | in its name");
    assert.deepEqual(got, ["a|b/c.d€:do|it"]);
  });
});

describe("zeromq broker: acknowledged delivery", () => {
  it("holds an acknowledged message until a subscriber took it, resending it at the interval", async () => {
    const broker = await startBroker();
    const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort };
    const sender = await BrokerLink.connect({ bus: new Bus(), ...ports, importFilters: ["none:none"], acknowledge: ["job:*"] });
    sender.bus.twitter("job:run", 7);
    sender.bus.twitter("log:line", "no ack wanted");
    await waitFor(() => broker.held === 1, "job:run held by the broker");
    await sleep(300); // several resend intervals with nobody subscribed: it stays held
    assert.equal(broker.held, 1);

    const worker = new Bus();
    const runs: unknown[] = [];
    worker.follow("job:run", (m) => void runs.push(m.args[0]));
    const workerLink = await BrokerLink.connect({ bus: worker, ...ports, importFilters: ["job:*"] });
    await waitFor(() => broker.held === 0, "acknowledged by the worker");
    assert.deepEqual(runs, [7], "delivered once");
    assert.equal(broker.stats.acked, 1);
    assert.ok(broker.stats.resent >= 1, "delivered by a resend");
    // A resend already on its way when the ack left is acknowledged again: at least one ack was sent.
    assert.ok(workerLink.brokerStats.acksSent >= 1);
    await sender.close();
    await workerLink.close();
    broker.close();
  });

  it("acknowledges only once an async follower finished: the broker holds the message until then", async (t) => {
    const broker = await startBroker();
    t.after(() => broker.close());
    const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort };
    const sender = await BrokerLink.connect({ bus: new Bus(), ...ports, importFilters: ["none:none"], acknowledge: ["job:*"] });
    const worker = new Bus();
    let finish: () => void = () => undefined;
    let started = 0;
    worker.follow("job:run", async () => {
      started++;
      await new Promise<void>((resolve) => {
        finish = resolve;
      });
    });
    const workerLink = await BrokerLink.connect({ bus: worker, ...ports, importFilters: ["job:*"] });
    t.after(async () => {
      finish(); // a failed assertion must not leave the follower (and the process) hanging
      await sender.close();
      await workerLink.close();
    });
    sender.bus.twitter("job:run", 1);
    await waitFor(() => started === 1, "the async follower started");
    await sleep(400); // four resend intervals while the follower is still running
    assert.equal(broker.held, 1, "still unacknowledged while the follower runs");
    assert.equal(broker.stats.acked, 0);
    assert.equal(workerLink.brokerStats.acksSent, 0);
    assert.ok(broker.stats.resent >= 1, "the broker resent it meanwhile");
    assert.ok(workerLink.stats.duplicates >= 1, "the resends were dropped as duplicates");
    assert.equal(started, 1, "a resend does not run the follower again");

    finish();
    await waitFor(() => broker.held === 0, "acknowledged once the follower finished");
    assert.equal(broker.stats.acked, 1);
    // A resend already on its way when the ack left is acknowledged again: at least one ack was sent.
    assert.ok(workerLink.brokerStats.acksSent >= 1);
    assert.equal(started, 1);
  });

  it("counts a follower that rejects as having handled the message: reported, then acknowledged", async (t) => {
    const broker = await startBroker();
    t.after(() => broker.close());
    const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort };
    const sender = await BrokerLink.connect({ bus: new Bus(), ...ports, importFilters: ["none:none"], acknowledge: ["job:*"] });
    const worker = new Bus();
    const reported: BerryError[] = [];
    worker.on("error", (error) => void reported.push(error));
    let fail: (error: Error) => void = () => undefined;
    worker.follow("job:run", () => new Promise<void>((_, reject) => (fail = reject)));
    const workerLink = await BrokerLink.connect({ bus: worker, ...ports, importFilters: ["job:*"] });
    t.after(async () => {
      await sender.close();
      await workerLink.close();
    });
    sender.bus.twitter("job:run", 1);
    await waitFor(() => broker.stats.resent >= 2, "resent while the follower runs");
    assert.equal(broker.held, 1);
    fail(new Error("disk full"));
    await waitFor(() => broker.held === 0, "acknowledged once the follower settled");
    assert.equal(reported.length, 1);
    assert.equal(reported[0]?.code, "FOLLOWER_FAILED");
    assert.match(reported[0]?.message ?? "", /disk full/);
    assert.equal(broker.stats.acked, 1);
  });

  it("does not count a message that reached no follower as acknowledged", async () => {
    const broker = await startBroker();
    const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort };
    const sender = await BrokerLink.connect({ bus: new Bus(), ...ports, importFilters: ["none:none"], acknowledge: ["*:*"] });
    const idle = await BrokerLink.connect({ bus: new Bus(), ...ports, importFilters: ["job:*"] }); // nobody follows there
    sender.bus.twitter("job:run");
    await waitFor(() => idle.brokerStats.unconsumed === 1, "delivered to the idle client");
    await sleep(300);
    assert.equal(broker.held, 1, "still held: no follower took it");
    await sender.close();
    await idle.close();
    broker.close();
  });

  it("refuses acknowledged messages past maxUnacked with BrokerFullError, and the link keeps them to retry", async () => {
    const broker = await startBroker({ maxUnacked: 2 });
    const brokerErrors: BerryError[] = [];
    broker.on("error", (error) => void brokerErrors.push(error));
    const link = await BrokerLink.connect({
      bus: new Bus(),
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      importFilters: ["none:none"],
      acknowledge: ["job:*"],
      retryDelay: { initial: 20, max: 50 },
      closeTimeout: 200,
    });
    const linkErrors: BerryError[] = [];
    link.on("error", (error) => void linkErrors.push(error));
    for (let i = 0; i < 3; i++) {
      link.bus.twitter("job:run", i);
      await sleep(30); // one batch each
    }
    await waitFor(() => brokerErrors.length > 0 && linkErrors.length > 0, "refusal reported on both sides");
    assert.equal(broker.held, 2);
    assert.ok(brokerErrors[0] instanceof BrokerFullError);
    assert.equal(brokerErrors[0].code, "BROKER_FULL");
    assert.match(brokerErrors[0].message, /2 unacknowledged messages held \(maxUnacked\)/);
    const cause = (linkErrors[0] as Error).cause;
    assert.ok(cause instanceof BrokerFullError, "the link's LinkDownError carries the BrokerFullError");
    assert.equal(link.backlog, 1, "the refused message waits in the link to be retried");
    assert.ok(broker.stats.refused >= 1);
    const { undelivered } = await (async () => {
      link.removeAllListeners("error");
      link.on("error", () => undefined);
      return link.close();
    })();
    assert.equal(undelivered.length, 1, "close() hands back what the broker never took");
    broker.close();
  });
});
