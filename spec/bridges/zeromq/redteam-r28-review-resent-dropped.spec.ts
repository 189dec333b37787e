// r28 review: a resend dropped past maxSubscriberQueueBytes (its only subscriber full) was counted in
// stats.resent all the same, once per held message at every resendInterval, while nothing was sent (the
// offer of held messages counted only what it sent). It now counts the held messages a resend sent to at
// least one subscriber.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { boundedBroker } from "../../helpers/bounded-broker.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

const BOUND = 64 * 1024;
const COUNT = 50;
const SIZE = 10_000; // ~500 KB held, eight times the bound

describe("zeromq broker: resends dropped past maxSubscriberQueueBytes (r28 review)", () => {
  it("are not counted as resent while the only subscriber is full", { timeout: 60_000 }, async (t) => {
    const { broker, sender, rawClient } = await boundedBroker(t, {
      bound: BOUND,
      acknowledge: ["job:*"],
      broker: { resendInterval: 200 },
    });
    // A raw client saying feature "k" that never answers a mark nor acknowledges: once it was sent the
    // bound, it stays full.
    const client = rawClient();
    await client.heard();
    await client.hello("rck");
    await waitFor(() => broker.clients === 2, "both clients registered", 10_000);
    const data = "x".repeat(SIZE);
    for (let i = 0; i < COUNT; i++) sender.bus.twitter("job:run", data);
    await waitFor(() => broker.held === COUNT, "every message held", 20_000);
    await waitFor(() => broker.stats.slowDropped > 0, "deliveries dropped past the bound", 10_000);
    await sleep(500);
    const before = { resent: broker.stats.resent, delivered: broker.stats.delivered, dropped: broker.stats.slowDropped };
    await sleep(1_500); // seven resendIntervals
    const resent = broker.stats.resent - before.resent;
    const sent = broker.stats.delivered - before.delivered;
    const dropped = broker.stats.slowDropped - before.dropped;
    t.diagnostic(`meanwhile: resent ${resent}, delivered ${sent}, dropped ${dropped}; the client got ${client.delivered}`);
    assert.ok(dropped > 0, "the resends were dropped");
    assert.equal(sent, 0, "nothing was sent to the full subscriber");
    assert.equal(resent, 0, "resends dropped are not counted as resent");
  });
});
