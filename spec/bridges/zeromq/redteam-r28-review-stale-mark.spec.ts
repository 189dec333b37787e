// r28 review: every record of a client (each registration, on every broker) counted the bytes sent to it
// from 0, so the echo of a mark sent to an earlier record (the client forgotten and back, or a broker's
// predecessor on the same port; the link echoes the marks queued for it as it reads them) was taken as a
// mark of the new one whenever the new one had been sent that much: a subscriber that had read nothing of
// what it was sent since was counted as having read it (it was past maxSubscriberQueueBytes and deliveries
// to it went on). Each record's count now starts at a random offset: an earlier record's mark is not in
// the new one's range.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { boundedBroker } from "../../helpers/bounded-broker.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

const BOUND = 64 * 1024;
const SIZE = 4_000;

describe("zeromq broker: the echo of a mark sent to a client's earlier registration (r28 review)", () => {
  it("does not count as read what the client was sent since it registered again", { timeout: 60_000 }, async (t) => {
    const { broker, sender, lines, rawClient } = await boundedBroker(t, { bound: BOUND });
    // A raw client saying feature "k" that reads nothing (it echoes no mark until told to).
    const client = rawClient();
    const { dealer, marks } = client;
    await client.heard();
    const data = "x".repeat(SIZE);
    // Sends until the raw client is past the bound (deliveries to it dropped).
    const fill = async (): Promise<void> => {
      const dropped = broker.stats.slowDropped;
      for (let i = 0; i < 100 && broker.stats.slowDropped === dropped; i++) {
        sender.bus.twitter("job:run", data);
        await waitFor(() => broker.stats.received >= i + 1, "the broker keeping up", 10_000).catch(() => undefined);
        await sleep(5);
      }
      assert.ok(broker.stats.slowDropped > dropped, "the raw client is past the bound");
    };
    await client.hello("rck");
    await waitFor(() => broker.clients === 2, "both clients registered", 10_000);
    await fill();
    await waitFor(() => marks.length > 0, "a mark", 5_000);
    const earlier = marks[0] as string;
    // It leaves and registers again: a new record, which it is sent past the bound too.
    await dealer.send(["B"]);
    await waitFor(() => broker.clients === 1, "the raw client gone", 5_000);
    await client.hello("rck", 1);
    await waitFor(() => broker.clients === 2, "the raw client back", 5_000);
    await fill();
    const before = lines.length;
    // The earlier registration's first mark, echoed late (as a link reading what was queued for it does).
    await dealer.send(["K", earlier]);
    await sleep(500);
    const resumed = lines.slice(before).filter((line) => line.includes("read what it was sent"));
    t.diagnostic(`echoed ${earlier}; ${resumed.length} resumption(s) logged`);
    assert.deepEqual(resumed, [], "a mark of the client's earlier registration does not make the new one read");
  });
});
