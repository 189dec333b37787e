// r28 review: what the broker sent a subscriber while its pub connection was down (libzmq drops it, and
// the marks with it) stayed counted as unread until the subscriber answered a later mark, and the next
// mark went out only once an eighth of the bound more was sent: a subscriber that had read everything it
// got, reconnected, was past maxSubscriberQueueBytes at its next delivery (dropped, and nothing broadcast)
// if its count was near the bound. At each beat, a subscriber with half the bound unread is now marked
// again, as a full one is.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { boundedBroker } from "../../helpers/bounded-broker.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

const BOUND = 64 * 1024;
const SIZE = 4_000;

describe("zeromq broker: a subscriber whose pub connection came back (r28 review)", () => {
  it("is not past the bound for what was sent to it while it was down", { timeout: 60_000 }, async (t) => {
    const { broker, sender, lines, rawClient } = await boundedBroker(t, { bound: BOUND });
    // A raw client that reads everything it gets and answers every mark at once.
    const client = rawClient({ echoMarks: true });
    const { clientId } = client;
    await client.heard();
    await client.hello("rck");
    await waitFor(() => broker.clients === 2, "both clients registered", 10_000);
    const data = "x".repeat(SIZE);
    // Its pub connection is down while 14 messages (~57 KB, most of the bound) are sent to it, one a batch.
    client.dropSub();
    for (let i = 0; i < 14; i++) {
      const received = broker.stats.received;
      sender.bus.twitter("job:run", data);
      await waitFor(() => broker.stats.received > received, "the broker keeping up", 10_000);
    }
    // Back, reading; a few beats later, three messages in one batch (one DELIVER of ~12 KB).
    client.reconnectSub();
    await waitFor(() => client.beats > 3, "beats on its new connection", 10_000);
    for (let i = 0; i < 3; i++) sender.bus.twitter("job:run", data);
    await waitFor(() => broker.stats.received === 17, "the batch received", 10_000);
    await sleep(500);
    const filled = lines.filter((line) => line.includes(`client ${clientId} has`));
    t.diagnostic(`it got ${client.delivered} after it came back; ${broker.stats.slowDropped} deliveries dropped`);
    assert.deepEqual(filled, [], "a subscriber that read all it got is not past the bound");
    assert.equal(client.delivered, 3, "it got the batch sent after it came back");
  });
});
