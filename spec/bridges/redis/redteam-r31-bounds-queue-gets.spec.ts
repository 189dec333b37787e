// Red team r31 (bounds): every get() of a RedisQueue grew it until close(). Each pop was raced against the
// queue's one long-lived "connections cut" promise, and a Promise.race leaves a reaction on each promise it
// races, kept as long as that promise is pending: the closing promise held every pop's outcome (the popped
// message itself) for the queue's whole life. A consumer taking 1,000,000 messages of 1 KB held a GB.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import { heapUsed } from "../../helpers/heap.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { waitFor } from "../../helpers/wait-for.js";

let redis: RedisServer;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});

it("red team: a RedisQueue keeps nothing of the messages its get() took", { timeout: 30_000 }, async (t) => {
  const bus = new Bus();
  const queue = new RedisQueue("r31gets:*", { bus, connection: redis.url, prefix: `r31-${process.pid}-${Date.now()}:` });
  t.after(() => queue.close());
  const body = "x".repeat(4_096);
  // `count` messages through the queue, each taken by a get().
  const round = async (count: number): Promise<void> => {
    const pushed = queue.stats.pushed;
    for (let i = 0; i < count; i++) bus.twitter(`r31gets:${i}`, { body, i });
    await waitFor(() => queue.stats.pushed === pushed + count, "pushed");
    for (let i = 0; i < count; i++) await queue.get({ timeout: 1_000 });
  };
  await round(1_500); // warm: scripts, connections, ioredis buffers
  const before = heapUsed();
  await round(1_500);
  const grown = heapUsed() - before;
  // Before the fix: each popped message kept (over 6 MB for 1,500 of 4 KB); after: noise.
  assert.ok(grown < 1_000_000, `heap grew ${grown} bytes over 1,500 gets of 4 KB messages`);
});
