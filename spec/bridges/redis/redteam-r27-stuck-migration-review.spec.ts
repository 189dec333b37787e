// Review of r27 (034dc49: durable scripts answer TRYAGAIN while the prefix's slot is being migrated, and
// ioredis retries it for as long as it comes). A migration left half-way (CLUSTER SETSLOT MIGRATING /
// IMPORTING, then the resharding tool gone: no key moved) makes every call of every channel of the prefix
// wait, for ever, and nothing said so: no error event, the client "ready". Now a heartbeat unanswered for
// 10 s on live connections is reported once (REDIS_COMMAND_FAILED, naming the prefix); the calls still
// wait and go through, nothing lost, once the slot is stable again.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { hashSlot } from "../../../bridges/redis/hash-slot.js";
import { QUICK_SYNC, type RedisCluster, reshardEnds, startCluster } from "../../helpers/redis-cluster.js";
import { withClient } from "../../helpers/redis-probe.js";
import { waitFor } from "../../helpers/wait-for.js";

let cluster: RedisCluster;
before(async () => {
  cluster = await startCluster(QUICK_SYNC);
});
after(async () => {
  await cluster?.stop();
});

it("review r27: a migration of the durable prefix's slot left half-way is reported, and the calls that waited go through once it is undone", {
  timeout: 40_000,
}, async (t) => {
  const prefix = "r27r:{stuck}:";
  const slot = hashSlot(prefix);
  const { source, target, sourceId, targetId } = await reshardEnds(cluster, `${prefix}deadlines`);
  const connection = { cluster: [...cluster.startupNodes] };
  const sender = await DurableChannel.open("sender", { connection, prefix });
  t.after(() => sender.end());
  const errors: Error[] = [];
  sender.on("error", (e) => errors.push(e));
  await sender.send({ before: true }, { to: "worker" });
  await withClient(target.port, (c) => c.cluster("SETSLOT", slot, "IMPORTING", sourceId));
  await withClient(source.port, (c) => c.cluster("SETSLOT", slot, "MIGRATING", targetId));
  let settled = false;
  const sending = sender.send({ during: true }, { to: "worker" }).finally(() => {
    settled = true;
  });
  await waitFor(() => errors.length > 0, "the stall reported", 15_000);
  assert.equal(settled, false, "the send waits through the migration");
  assert.equal(errors.length, 1);
  assert.equal((errors[0] as Error & { code?: string }).code, "REDIS_COMMAND_FAILED");
  assert.ok(errors[0]?.message.includes(prefix), errors[0]?.message);
  // The migration undone (no key had moved): the send goes through, the channel works again.
  await withClient(source.port, (c) => c.cluster("SETSLOT", slot, "STABLE"));
  await withClient(target.port, (c) => c.cluster("SETSLOT", slot, "STABLE"));
  const sent = await sending;
  assert.equal(typeof sent.id, "string");
  const worker = await DurableChannel.open("worker", { connection, prefix });
  t.after(() => worker.end());
  const first = await worker.receive({ timeout: 3_000 });
  const second = await worker.receive({ timeout: 3_000 });
  assert.deepEqual([first.content, second.content], [{ before: true }, { during: true }]);
  assert.equal(errors.length, 1);
});
