// Red team r27: RedisQueue.get({ timeout }) while Redis is down. Its blocking client waits through an
// outage (ioredis holds the BLPOP until Redis is back), and get() waited with it: the timeout was not kept
// (a get of 500 ms still waiting after 20 s; with a Cluster unreachable from the start, the same), and an
// aborted signal did not end it either. Now get() gives up 250 ms past its time, and what the held BLPOP
// pops once Redis is back goes back to the front of the queue: nothing is lost.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { it } from "node:test";
import { Redis } from "ioredis";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import { QueueTimeoutError } from "../../../lib/errors.js";
import { startRedis } from "../../helpers/redis-server.js";
import { sleep } from "../../helpers/wait-for.js";

it("red team: get() keeps its timeout and its signal while Redis is down; what its pop takes later goes back", {
  timeout: 20_000,
}, async (t) => {
  const redis = await startRedis({ own: true, aof: true });
  t.after(() => redis.stop());
  const bus = new Bus();
  const queue = new RedisQueue("r27out:*", { bus, connection: redis.url, prefix: `r27-${randomUUID()}:`, feed: false });
  queue.on("error", () => {});
  t.after(() => queue.close());
  await queue.qsize();
  await redis.kill();
  let started = performance.now();
  await assert.rejects(queue.get({ timeout: 500 }), QueueTimeoutError);
  const timedOut = performance.now() - started;
  assert.ok(timedOut < 2_000, `timed out after ${Math.round(timedOut)} ms`);
  const controller = new AbortController();
  started = performance.now();
  const aborted = queue.get({ signal: controller.signal });
  setTimeout(() => controller.abort(new Error("stop")), 300);
  await assert.rejects(aborted, /stop/);
  assert.ok(performance.now() - started < 2_000);
  // Redis back with a message queued: the pops held meanwhile may take it, and give it back.
  await redis.restart();
  const raw = new Redis(redis.url);
  t.after(() => raw.disconnect());
  const envelope = { v: 1, id: "r27out:x", args: [1], kwargs: {}, messageId: randomUUID(), timestamp: Date.now(), hops: [] };
  await raw.rpush(queue.key, JSON.stringify(envelope));
  await sleep(1_500);
  const message = await queue.get({ timeout: 3_000 });
  assert.equal(message.id, "r27out:x");
  assert.equal(queue.stats.unreturned, 0);
});
