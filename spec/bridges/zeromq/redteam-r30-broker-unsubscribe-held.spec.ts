// Red team r30 (broker): a subscriber that unsubscribes while a message it must acknowledge is still
// being handled. Its acknowledgement arrives after the HELLO that dropped the pattern.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Broker, BrokerLink, type DeadLetter } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

async function setUp(t: { after: (fn: () => unknown) => void }) {
  const dir = mkdtempSync(join(tmpdir(), "berrymq-r30-unsub-"));
  const broker = await Broker.start({
    pubPort: await freePort(),
    recvPort: await freePort(),
    resendInterval: 100,
    expiry: 1_500,
    deadLetterFile: join(dir, "dead.jsonl"),
  });
  const letters: DeadLetter[] = [];
  const errors: Error[] = [];
  broker.on("dead-letter", (letter) => void letters.push(letter));
  broker.on("error", (error) => void errors.push(error));
  const sender = await BrokerLink.connect({
    bus: new Bus(),
    pubPort: broker.pubPort,
    recvPort: broker.recvPort,
    importFilters: ["none:none"],
    acknowledge: ["job:*"],
  });
  t.after(async () => {
    await sender.close();
    broker.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { broker, sender, letters, errors };
}

describe("zeromq broker: red team r30 (unsubscribe while a held message is handled)", () => {
  it("red team: an async follower's message whose link unsubscribed meanwhile is acknowledged (released, not a dead letter nor a protocol error)", {
    timeout: 15_000,
  }, async (t) => {
    const { broker, sender, letters, errors } = await setUp(t);
    const seen: unknown[] = [];
    const bus = new Bus();
    const subscriber = await BrokerLink.connect({
      bus,
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      importFilters: ["job:*"],
    });
    t.after(() => subscriber.close());
    bus.follow("job:*", async (message) => {
      seen.push(message.args[0]);
      await subscriber.unsubscribe("job:*"); // done with jobs: welcomed before this follower settles
      await sleep(50);
    });
    await sleep(200); // its SUB is connected
    sender.bus.twitter("job:run", 1);
    await waitFor(() => subscriber.brokerStats.acksSent === 1, "the subscriber acknowledged the job", 5_000);
    await waitFor(() => broker.held === 0 || letters.length > 0, "the job released or expired", 5_000);
    assert.deepEqual(seen, [1], "the follower ran once");
    assert.equal(broker.held, 0, "its acknowledgement released the job");
    await sleep(1_700); // past the expiry
    assert.deepEqual(letters, [], "a handled job is no dead letter");
    assert.deepEqual(errors.map((error) => error.message), [], "nor reported as an ack from a stranger");
    assert.equal(broker.stats.rejected, 0);
  });

  it("red team: a once-follower under importFilters \"followers\" (it unfollows as it handles the message) acknowledges it", {
    timeout: 15_000,
  }, async (t) => {
    const { broker, sender, letters, errors } = await setUp(t);
    const bus = new Bus();
    const subscriber = await BrokerLink.connect({
      bus,
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      importFilters: "followers",
    });
    t.after(() => subscriber.close());
    const seen: unknown[] = [];
    const stop = bus.follow("job:*", (message) => {
      seen.push(message.args[0]);
      stop(); // a one-shot follower: the link drops job:* at once, before the acknowledgement goes
    });
    await sleep(300); // the pattern reached the broker and its SUB is connected
    sender.bus.twitter("job:run", 1);
    await waitFor(() => subscriber.brokerStats.acksSent === 1, "the subscriber acknowledged the job", 5_000);
    await sleep(300);
    assert.deepEqual(seen, [1]);
    assert.equal(broker.held, 0, "its acknowledgement released the job");
    await sleep(1_500);
    assert.deepEqual(letters, [], "a handled job is no dead letter");
    assert.deepEqual(errors.map((error) => error.message), []);
  });
});
