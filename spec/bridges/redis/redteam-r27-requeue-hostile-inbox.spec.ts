// Red team r27: what a dead or ended receiver held goes back to its channel's inbox (the sweep's requeue).
// With another type under that inbox (written by another client), the LPUSH failed inside the sweep: every
// sweep of the prefix failed there from then on, each reporting an error (ten a second per channel), and
// dead receivers the sweep would meet after that one (HKEYS order) were not requeued while the key stayed:
// their messages, of other channels, stayed held by nobody. Now that message stays held, the receiver's entry too, the sweep goes on to the others; once the
// key is gone, the next sweep puts it back.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { hostileInbox } from "./hostile-inbox.js";

let redis: RedisServer;
before(async () => {
  redis = await startRedis({ own: true });
});
after(async () => {
  await redis?.stop();
});

it("red team: a held message whose inbox another client made a string stays held; the sweeps go on unfailing (timeouts, other dead receivers); it goes back once the key is gone", {
  timeout: 30_000,
}, async (t) => {
  const { prefix, raw, sender, open } = await hostileInbox(t, redis.url);
  const worker = await open("w", { lease: 600 });
  const errors: unknown[] = [];
  sender.on("error", (error) => errors.push(error));
  const held = await sender.send("held", { to: "w" });
  assert.equal((await worker.receive({ timeout: 2_000 })).id, held.id);
  await raw.set(`${prefix}in:w`, "hostile");
  // Ended with the inbox broken: the release cannot put it back (its lease then runs out, and the sweep tries).
  worker.on("error", () => {});
  await worker.end();
  // A receiver of another channel, registered after it, died holding a message (written as the scripts would).
  const other = await sender.send("for v", { to: "v" });
  await raw.lmove(`${prefix}in:v`, `${prefix}held:dead-v`, "LEFT", "RIGHT");
  await raw.hset(`${prefix}m:${other.id}`, { state: "taken", holder: "dead-v", attempts: 1 });
  await raw.hset(`${prefix}consumers`, "dead-v", "v");
  await raw.hset(`${prefix}leases`, "dead-v", 1);
  const v = await open("v");
  const back = await v.receive({ timeout: 5_000 });
  assert.equal(back.id, other.id, "the other channel's dead receiver is requeued");
  await v.close(back);
  // The worker's lease (600 ms) ran out long ago: the sweeps met its held message many times.
  const due = await sender.send("nobody answers", { to: "other", timeout: 1_000 });
  const notice = await sender.receive({ timeout: 5_000 });
  assert.equal(notice.kind, "timeout", "the prefix's timeouts go on");
  assert.equal(notice.inReplyTo, due.id);
  await sender.close(notice);
  assert.deepEqual(await raw.lrange(`${prefix}held:${worker.consumer}`, 0, -1), [held.id], "still held");
  assert.deepEqual(errors, [], "no sweep failed");
  await raw.del(`${prefix}in:w`);
  const next = await open("w");
  const again = await next.receive({ timeout: 5_000 });
  assert.equal(again.id, held.id);
  assert.equal(again.attempts, 2);
  assert.equal(await raw.exists(`${prefix}held:${worker.consumer}`), 0);
});
