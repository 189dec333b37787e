// Red team r30: another client writes another type under a durable prefix's `P deadlines` (the sorted set
// of every message's deadline). The scripts wrote before they met it: a send with a timeout recorded the
// message's hash, then its ZADD failed (WRONGTYPE) and the send rejected; resent with the same id, as the
// README says is safe, it found the hash and answered as sent: resolved, and the message was in no inbox,
// lost. A reply to a message with a deadline took it out of the receiver's held list, then its ZREM failed:
// when the receiver ended (or died) nothing gave it back. Every script that uses the deadlines now looks at
// their type first, and refuses (WRONGTYPE, naming the key) before any write.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { RedisCommandError } from "../../../bridges/redis/errors.js";
import type { BerryError } from "../../../lib/errors.js";
import { redisWithRawClient } from "../../helpers/redis-server.js";

const redis = redisWithRawClient();

// Refused before any write, naming the key (before: Redis's bare WRONGTYPE, after the writes).
const wrongType = (error: BerryError): boolean =>
  error instanceof RedisCommandError && /WRONGTYPE/.test(error.message) && error.message.includes("deadlines holds a string");

it("red team: a send with a timeout refused by a string under P deadlines, resent with its id once the key is gone, reaches its receiver", async (t) => {
  const prefix = `r30-${randomUUID()}:{durable}:`;
  const sender = await DurableChannel.open("s", { connection: redis.server.url, prefix });
  const worker = await DurableChannel.open("w", { connection: redis.server.url, prefix });
  t.after(() => Promise.all([sender.end(), worker.end()]));
  for (const channel of [sender, worker]) channel.on("error", () => {});
  await redis.raw.set(`${prefix}deadlines`, "not a sorted set");
  const id = randomUUID();
  await assert.rejects(sender.send("job", { to: "w", timeout: 10_000, id }), wrongType);
  await redis.raw.del(`${prefix}deadlines`);
  const sent = await sender.send("job", { to: "w", timeout: 10_000, id });
  assert.ok(sent.deadline !== undefined);
  const job = await worker.receive({ timeout: 3_000 });
  assert.deepEqual([job.id, job.content], [id, "job"], "the message resent with its id is delivered");
  assert.equal(await redis.raw.zscore(`${prefix}deadlines`, id), String(sent.deadline), "and its deadline runs");
  await worker.close(job);
});

it("red team: a reply refused by a string under P deadlines leaves the message held: the receiver's end() gives it back", async (t) => {
  const prefix = `r30-${randomUUID()}:{durable}:`;
  const sender = await DurableChannel.open("s", { connection: redis.server.url, prefix });
  const worker = await DurableChannel.open("w", { connection: redis.server.url, prefix });
  t.after(() => sender.end());
  t.after(() => worker.end());
  for (const channel of [sender, worker]) channel.on("error", () => {});
  const sent = await sender.send("job", { to: "w", timeout: 20_000 });
  const job = await worker.receive({ timeout: 3_000 });
  await redis.raw.set(`${prefix}deadlines`, "not a sorted set");
  await assert.rejects(worker.reply(job, "done"), wrongType);
  await worker.end();
  await redis.raw.del(`${prefix}deadlines`);
  const next = await DurableChannel.open("w", { connection: redis.server.url, prefix });
  t.after(() => next.end());
  next.on("error", () => {});
  const again = await next.receive({ timeout: 3_000 });
  assert.deepEqual([again.id, again.attempts], [sent.id, 2], "given to the next receiver");
  await next.reply(again, "done");
  const reply = await sender.receive({ timeout: 3_000 });
  assert.deepEqual([reply.kind, reply.inReplyTo], ["reply", sent.id]);
  await sender.close(reply);
});
