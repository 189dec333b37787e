// Red team r28 review: the stall watch (stall-watch.ts) reported a stall only while every Cluster master's
// connection was "ready". ioredis opens a Cluster node's connection lazily, on the first command for it:
// a queue (or a durable channel) uses one slot, so the masters it never sent a command to stay in "wait"
// for the life of the client. The watch took them for an outage and rechecked every second, for ever:
// pushes held by a master that accepts connections and answers nothing ("else Redis hung", as the report
// says) waited unreported until maxPending refused the next ones. (A migration left half-way was still
// reported: ioredis retries TRYAGAIN on random nodes, which opens them all.) Here the queue is given one
// startup node, its slot's master, which is paused for writes for 14 s: the report must come once, after
// 10 s, and the pushes go through after the pause.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, it } from "node:test";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import { QUICK_SYNC, type RedisCluster, startCluster } from "../../helpers/redis-cluster.js";
import { withClient } from "../../helpers/redis-probe.js";
import { waitFor } from "../../helpers/wait-for.js";

let cluster: RedisCluster;
before(async () => {
  cluster = await startCluster(QUICK_SYNC);
});
after(async () => {
  await cluster?.stop();
});

it("red team: pushes a hung Cluster master holds are reported although the masters the queue never used were never connected", {
  timeout: 60_000,
}, async (t) => {
  const prefix = `r28rs-${randomUUID()}:`;
  const key = `${prefix}queue:{hung:*}`;
  const source = await cluster.masterOf(key);
  // Only the slot's master is named: ioredis asks it for the slots and opens no other master.
  const connection = { cluster: [{ host: "127.0.0.1", port: source.port }] };
  const bus = new Bus();
  const queue = new RedisQueue("hung:*", { bus, connection, prefix });
  assert.equal(queue.key, key);
  t.after(() => queue.close());
  const errors: (Error & { code?: string })[] = [];
  queue.on("error", (error) => errors.push(error));
  bus.twitter("hung:job", 0);
  await waitFor(() => queue.stats.pushed === 1, "the first push", 5_000);
  await withClient(source.port, (c) => c.call("CLIENT", "PAUSE", "14000", "WRITE"));
  for (let i = 1; i <= 3; i++) bus.twitter("hung:job", i);
  await waitFor(() => errors.length > 0, "the stall reported", 13_500);
  assert.equal(queue.stats.pushed, 1, "the pushes wait through the pause");
  assert.equal(errors.length, 1, errors.map((error) => error.message).join("\n"));
  assert.equal(errors[0]?.code, "REDIS_COMMAND_FAILED");
  assert.match(String(errors[0]?.message), /no answer in 10000 ms.*pushes wait/);
  await waitFor(() => queue.stats.pushed === 4, "the pushes that waited", 10_000);
  assert.equal(errors.length, 1);
});
