// Red team r22: the wall clock jumps (an NTP step, a VM resumed, an operator's `date -s`) under a broker
// holding an unacknowledged message for a slow subscriber. Date.now is shifted in this process; the
// broker, its sockets and clients are real.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { Broker, BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep } from "../../helpers/wait-for.js";
import { type RawClient, rawClient } from "./broker-helpers.js";

const realNow = Date.now;
let shift = 0;
Date.now = () => realNow() + shift;
afterEach(() => {
  shift = 0;
});

const HOUR = 3_600_000;
const lines = (client: RawClient): number => client.delivered.reduce((sum, d) => sum + d.lines.length, 0);

// Polls on the monotonic clock: the wall clock is the thing that jumps here.
async function until(predicate: () => boolean, what: string, timeout = 10_000): Promise<void> {
  const deadline = performance.now() + timeout;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(5);
  }
}

async function setup(t: {
  after(fn: () => Promise<void>): void;
}): Promise<{ broker: Broker; slow: RawClient; sender: BrokerLink }> {
  const broker = await Broker.start({
    pubPort: await freePort(),
    recvPort: await freePort(),
    resendInterval: 100,
    expiry: 60_000,
  });
  broker.on("error", () => undefined);
  const slow = await rawClient(broker.pubPort, broker.recvPort, "c10c4c10c4c10c4a");
  const sender = await BrokerLink.connect({
    bus: new Bus(),
    pubPort: broker.pubPort,
    recvPort: broker.recvPort,
    importFilters: ["none:none"],
    acknowledge: ["job:*"],
  });
  t.after(async () => {
    shift = 0;
    await sender.close();
    slow.close();
    broker.close();
  });
  for (let i = 0; slow.welcomes.length === 0; i++) {
    if (i > 200) throw new Error("the slow subscriber was never welcomed");
    await slow.hello(["job:*"], 1);
    await sleep(25);
  }
  sender.bus.twitter("job:run", "take me");
  await until(
    () => broker.held === 1 && lines(slow) >= 1,
    "the held message delivered to the slow subscriber (which never acknowledges)",
  );
  return { broker, slow, sender };
}

describe("zeromq broker: red team r22 (the wall clock jumps)", () => {
  it("red team: the clock stepping back an hour does not stop the resends of a held message for an hour", {
    timeout: 20_000,
  }, async (t) => {
    const { slow } = await setup(t);
    shift = -HOUR;
    const seen = lines(slow);
    await until(() => lines(slow) >= seen + 3, "resends every resendInterval (100 ms) after the step back", 5_000);
  });

  it("red team: the clock stepping forward two hours neither dead-letters a message held for a second (expiry 60 s) nor forgets a live client", {
    timeout: 20_000,
  }, async (t) => {
    const { broker, slow } = await setup(t);
    const clients = broker.clients;
    shift = 2 * HOUR;
    const seen = lines(slow);
    await until(() => lines(slow) >= seen + 3, "resends after the step forward", 5_000);
    assert.equal(broker.stats.expired, 0, "nothing expired: the message was held ~1 s of its 60 s");
    assert.equal(broker.held, 1);
    assert.equal(broker.clients, clients, "no client forgotten as silent (clientTimeout 5 s) by the step");
  });
});
