// Review of r27 (7fe4781: a timeout notice whose sender's inbox is another type waits, the message still
// due). The sweep times out what is due in pages of 100 from the start of the deadlines, up to 10 pages:
// with 100 such waiting messages due first, every page was the same 100, and no other message of the
// prefix (any sender, any channel) ever timed out again, without a word. Now a page starts past those
// that wait.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, it } from "node:test";
import { Redis } from "ioredis";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { sleep } from "../../helpers/wait-for.js";

let redis: RedisServer;
before(async () => {
  redis = await startRedis({ own: true });
});
after(async () => {
  await redis?.stop();
});

it("review r27: a page of timeout notices waiting for a hostile inbox does not stop the prefix's other timeouts", {
  timeout: 20_000,
}, async (t) => {
  const prefix = `r27r-${randomUUID()}:{durable}:`;
  const connection = redis.url;
  const raw = new Redis(redis.url);
  const stuck = await DurableChannel.open("stuck", { connection, prefix });
  const other = await DurableChannel.open("other", { connection, prefix });
  t.after(async () => {
    await Promise.all([stuck.end(), other.end()]);
    raw.disconnect();
  });
  // Another client's string where stuck's notices go: its 150 messages' notices wait, due.
  await raw.set(`${prefix}in:stuck`, "hostile");
  await Promise.all(Array.from({ length: 150 }, (_, i) => stuck.send({ i }, { to: "worker", timeout: 50 })));
  await sleep(300);
  const sent = await other.send({ other: true }, { to: "worker", timeout: 50 });
  const notice = await other.receive({ timeout: 4_000 });
  assert.equal(notice.kind, "timeout");
  assert.equal(notice.inReplyTo, sent.id);
  // Those that wait are still due, not lost.
  assert.equal(await raw.zcard(`${prefix}deadlines`), 150);
});
