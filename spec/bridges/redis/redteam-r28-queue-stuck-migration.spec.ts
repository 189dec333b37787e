// Red team r28: a migration of a RedisQueue's slot left half-way (CLUSTER SETSLOT MIGRATING / IMPORTING,
// then the resharding tool gone: no key moved) answers every push TRYAGAIN, which the queue's client
// follows for as long as it comes: pushes waited, unreported, until maxPending refused the next ones. A
// durable channel reported such a stall of its calls once after 10 s (r27 review); a queue's pushes now
// go through the same watch (stall-watch.ts): one `error` (REDIS_COMMAND_FAILED, naming the queue) once
// no push has been answered for 10 s on live connections. The pushes still wait, and go through, none
// lost, once the slot is stable again.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, it } from "node:test";
import { hashSlot } from "../../../bridges/redis/hash-slot.js";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import { QUICK_SYNC, type RedisCluster, reshardEnds, startCluster } from "../../helpers/redis-cluster.js";
import { withClient } from "../../helpers/redis-probe.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

let cluster: RedisCluster;
before(async () => {
  cluster = await startCluster(QUICK_SYNC);
});
after(async () => {
  await cluster?.stop();
});

it("red team: pushes held by a migration of the queue's slot left half-way are reported once, and go through once it is undone", {
  timeout: 60_000,
}, async (t) => {
  const prefix = `r28q-${randomUUID()}:`;
  const connection = { cluster: [...cluster.startupNodes] };
  const bus = new Bus();
  const queue = new RedisQueue("stuck:*", { bus, connection, prefix });
  t.after(() => queue.close());
  const errors: (Error & { code?: string })[] = [];
  queue.on("error", (error) => errors.push(error));
  // One push before: the list exists on the source, so the pushes during the migration (their seen-markers
  // new) are refused TRYAGAIN rather than redirected.
  bus.twitter("stuck:job", 0);
  await waitFor(() => queue.stats.pushed === 1, "the first push", 5_000);
  const slot = hashSlot(queue.key);
  const { source, target, sourceId, targetId } = await reshardEnds(cluster, queue.key);
  await withClient(target.port, (c) => c.cluster("SETSLOT", slot, "IMPORTING", sourceId));
  await withClient(source.port, (c) => c.cluster("SETSLOT", slot, "MIGRATING", targetId));
  for (let i = 1; i <= 5; i++) bus.twitter("stuck:job", i);
  await waitFor(() => errors.length > 0, "the stall reported", 15_000);
  assert.equal(queue.stats.pushed, 1, "the pushes wait through the migration");
  assert.equal(queue.stats.failed, 0);
  assert.equal(errors.length, 1, errors.map((error) => error.message).join("\n"));
  assert.equal(errors[0]?.code, "REDIS_COMMAND_FAILED");
  const message = String(errors[0]?.message);
  assert.ok(message.includes(`pushing to queue ${queue.key} failed: no answer in 10000 ms`), message);
  assert.match(String(errors[0]?.message), /pushes wait/);
  // Reported once per stall: more pushes and more time add no report.
  bus.twitter("stuck:job", 6);
  await sleep(2_000);
  assert.equal(errors.length, 1);
  // The migration undone (no key had moved): the pushes go through, every message is queued once.
  await withClient(source.port, (c) => c.cluster("SETSLOT", slot, "STABLE"));
  await withClient(target.port, (c) => c.cluster("SETSLOT", slot, "STABLE"));
  await waitFor(() => queue.stats.pushed === 7, "the pushes that waited", 10_000);
  const got: number[] = [];
  for (let i = 0; i <= 6; i++) got.push((await queue.get({ timeout: 3_000 })).args[0] as number);
  // Each once (ioredis retries each TRYAGAIN on its own timer: their order is not kept, as before r28).
  assert.deepEqual(
    got.sort((a, b) => a - b),
    [0, 1, 2, 3, 4, 5, 6],
  );
  await assert.rejects(queue.get({ timeout: 0 }), { name: "QueueTimeoutError" }, "none twice");
  assert.equal(errors.length, 1);
});
