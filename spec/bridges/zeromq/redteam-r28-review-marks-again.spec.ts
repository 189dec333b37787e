// r28 review: a client whose HELLO said feature "k" again after one without it was counted as having read
// nothing of what was broadcast meanwhile (the broker kept no count of it then, nor sent it marks), so a
// client that had read everything was past maxSubscriberQueueBytes at once: deliveries to it dropped and
// nothing broadcast until it answered a mark. It now starts counting afresh, as a new registration does.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { boundedBroker } from "../../helpers/bounded-broker.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

const BOUND = 64 * 1024;
const SIZE = 4_000;

describe('zeromq broker: a HELLO saying feature "k" again (r28 review)', () => {
  it("does not count what was broadcast while it did not as unread", { timeout: 60_000 }, async (t) => {
    const { broker, sender, lines, link, rawClient } = await boundedBroker(t, { bound: BOUND });
    // Another subscriber of job:*: with the raw client, every client but the sender wants job:run, which
    // is then broadcast.
    await link(["job:*"]);
    // A raw client that reads everything and answers every mark at once.
    const client = rawClient({ echoMarks: true });
    const { clientId } = client;
    await client.heard();
    const send = async (count: number): Promise<void> => {
      const data = "x".repeat(SIZE);
      for (let i = 0; i < count; i++) {
        const received = broker.stats.received;
        sender.bus.twitter("job:run", data);
        await waitFor(() => broker.stats.received > received, "the broker keeping up", 10_000);
        await sleep(2);
      }
    };
    await client.hello("rck");
    await waitFor(() => broker.clients === 3, "three clients registered", 10_000);
    // Without "k", then with it again: four times the bound broadcast meanwhile.
    await client.hello("rc");
    await sleep(200);
    await send(64);
    await client.hello("rck");
    await sleep(200);
    await send(40);
    await sleep(300);
    const filled = lines.filter((line) => line.includes(`client ${clientId} has`));
    t.diagnostic(`${filled.length} time(s) past the bound; ${broker.stats.slowDropped} deliveries dropped`);
    assert.deepEqual(filled, [], "a client that reads everything is never past the bound");
    assert.equal(broker.stats.slowDropped, 0);
  });
});
