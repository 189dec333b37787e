// r28 review: a subscriber past maxSubscriberQueueBytes was let go on by any echo of a mark at all: filled
// just below the bound (the next delivery would not fit), it was no longer counted full on an echo that
// said it read nothing more (a "0", a mark of no record of it, one it had answered already), and
// broadcasts, which are not checked per subscriber, went to it again. Only an echo that says it read more
// ends its being full now.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { boundedBroker } from "../../helpers/bounded-broker.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

const BOUND = 64 * 1024;
const SIZE = 4_000;

describe("zeromq broker: a subscriber past maxSubscriberQueueBytes (r28 review)", () => {
  it("stays full on an echo that says it read nothing more", { timeout: 60_000 }, async (t) => {
    const { broker, sender, lines, rawClient } = await boundedBroker(t, { bound: BOUND });
    // A raw client saying feature "k" that reads nothing.
    const client = rawClient();
    const { dealer, marks } = client;
    await client.heard();
    await client.hello("rck");
    await waitFor(() => broker.clients === 2, "both clients registered", 10_000);
    const data = "x".repeat(SIZE);
    for (let i = 0; i < 100 && broker.stats.slowDropped === 0; i++) {
      sender.bus.twitter("job:run", data);
      await waitFor(() => broker.stats.received >= i + 1, "the broker keeping up", 10_000);
      await sleep(5);
    }
    assert.ok(broker.stats.slowDropped > 0, "the raw client is past the bound");
    await waitFor(() => marks.length > 0, "the mark of its filling", 5_000);
    // Echoes that say it read nothing: 0, and a count past all it was sent (no mark of this record).
    const before = lines.length;
    await dealer.send(["K", "0"]);
    await dealer.send(["K", String(2 ** 52)]);
    await sleep(500);
    const resumed = lines.slice(before).filter((line) => line.includes("read what it was sent"));
    t.diagnostic(`${resumed.length} resumption(s) logged on echoes saying nothing new`);
    assert.deepEqual(resumed, [], "an echo saying it read nothing more does not end its being full");
    // Its echo of the latest mark (all it was sent) does.
    await dealer.send(["K", marks.at(-1) as string]);
    await waitFor(
      () => lines.slice(before).some((line) => line.includes("read what it was sent")),
      "deliveries going on once it read all",
      5_000,
    );
  });
});
