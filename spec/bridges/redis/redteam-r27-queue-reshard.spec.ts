// Red team r27: a RedisQueue on a Cluster while the slot of its keys is resharded (SETSLOT IMPORTING /
// MIGRATING, MIGRATE a few keys at a time, SETSLOT NODE), fed and consumed all along. Every push is
// answered TRYAGAIN while the slot moves (its seen-marker is a new key, missing on both nodes): the queue's
// client gave up after 16 redirections, so pushes failed (reported, counted in stats.failed: 13 of 621
// messages lost). It follows redirections as long as they come now: every message arrives, once.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, it } from "node:test";
import { hashSlot } from "../../../bridges/redis/hash-slot.js";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import { QUICK_SYNC, type RedisCluster, reshardEnds, startCluster } from "../../helpers/redis-cluster.js";
import { withClient } from "../../helpers/redis-probe.js";
import { sleep } from "../../helpers/wait-for.js";

let cluster: RedisCluster;
before(async () => {
  cluster = await startCluster(QUICK_SYNC);
});
after(async () => {
  await cluster?.stop();
});

it("red team: a reshard of the queue's slot mid-stream loses no message and queues none twice", {
  timeout: 120_000,
}, async (t) => {
  const prefix = `q-${randomUUID()}:`;
  const connection = { cluster: [...cluster.startupNodes] };
  const bus = new Bus();
  const queue = new RedisQueue("rq:*", { bus, connection, prefix });
  const errors: string[] = [];
  queue.on("error", (e) => errors.push(e.message.slice(0, 160)));
  await queue.qsize();
  const key = queue.key;
  const slot = hashSlot(key);
  const { source, target, sourceId, targetId, masters } = await reshardEnds(cluster, key);
  const got: number[] = [];
  let stop = false;
  const consumer = (async () => {
    while (!stop) {
      try {
        const m = await queue.get({ timeout: 300 });
        got.push(m.args[0] as number);
      } catch (e) {
        if ((e as Error).name !== "QueueTimeoutError") errors.push(`get: ${(e as Error).message.slice(0, 160)}`);
      }
    }
  })();
  let i = 0;
  const feeding = (async () => {
    while (!stop) {
      bus.twitter("rq:x", i++);
      await sleep(5);
    }
  })();
  await sleep(1000);
  let batches = 0;
  await withClient(target.port, (c) => c.cluster("SETSLOT", slot, "IMPORTING", sourceId));
  await withClient(source.port, (c) => c.cluster("SETSLOT", slot, "MIGRATING", targetId));
  for (;;) {
    const keys = (await withClient(source.port, (c) => c.cluster("GETKEYSINSLOT", slot, 5))) as string[];
    if (keys.length === 0) break;
    await withClient(source.port, (c) =>
      c.call("MIGRATE", "127.0.0.1", String(target.port), "", "0", "5000", "KEYS", ...keys),
    ).catch((e) => errors.push(`MIGRATE: ${(e as Error).message}`));
    batches++;
    await sleep(20);
  }
  for (const node of masters) await withClient(node.port, (c) => c.cluster("SETSLOT", slot, "NODE", targetId));
  await sleep(1500);
  stop = true;
  await feeding;
  await consumer;
  await sleep(500);
  const rest: number[] = [];
  for (;;) {
    try {
      rest.push((await queue.getNowait()).args[0] as number);
    } catch {
      break;
    }
  }
  await queue.close();
  const all = [...got, ...rest];
  const missing: number[] = [];
  for (let k = 0; k < i; k++) if (!all.includes(k)) missing.push(k);
  const dup = all.length - new Set(all).size;
  t.diagnostic(
    `fed ${i}, batches ${batches}, got ${got.length}+${rest.length}, missing ${missing.length}, dup ${dup}, failed ${queue.stats.failed}, errors ${errors.length}: ${errors.slice(0, 4).join(" | ")}`,
  );
  assert.ok(batches > 5, "the slot moved in several batches, while the queue ran");
  assert.equal(dup, 0);
  assert.deepEqual(missing, []);
  assert.equal(queue.stats.failed, 0);
  assert.deepEqual(errors, []);
});
