// Red team r27: the slot of a durable prefix resharded (CLUSTER SETSLOT IMPORTING/MIGRATING, MIGRATE a few
// keys at a time, then SETSLOT NODE, as redis-cli --cluster reshard does) while a sender and a worker run.
// Before r27 every script that met a key moved already failed ("non local key") with its earlier writes
// kept: calls and sweeps failed for the whole migration, and a finish that dropped a message's deadline
// and held entry before failing lost it (no reply, no timeout notice, ever).
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { hashSlot } from "../../../bridges/redis/hash-slot.js";
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

it("red team: a reshard of the durable prefix's slot mid-stream loses no message and answers each once", {
  timeout: 120_000,
}, async (t) => {
  const prefix = "rt27:{reshard}:";
  const slot = hashSlot(prefix);
  const { source, target, sourceId, targetId, masters } = await reshardEnds(cluster, `${prefix}deadlines`);
  const connection = { cluster: [...cluster.startupNodes] };
  const errors: string[] = [];
  const sender = await DurableChannel.open("sender", { connection, prefix });
  const worker = await DurableChannel.open("worker", { connection, prefix });
  sender.on("error", (e) => errors.push(`sender: ${e.message}`));
  worker.on("error", (e) => errors.push(`worker: ${e.message}`));
  const N = 600;
  const sent = new Set<string>();
  const outcomes = new Map<string, string[]>();
  const failures: string[] = [];
  let stop = false;
  const workerLoop = (async () => {
    while (!stop) {
      try {
        const m = await worker.receive({ timeout: 500 });
        await worker.reply(m, "ok");
      } catch (e) {
        if (!stop && (e as Error).name !== "ReceiveTimeoutError") failures.push(`worker: ${(e as Error).message}`);
      }
    }
  })();
  const senderLoop = (async () => {
    while (!stop) {
      try {
        const m = await sender.receive({ timeout: 500 });
        const list = outcomes.get(m.inReplyTo ?? "") ?? [];
        list.push(m.kind);
        outcomes.set(m.inReplyTo ?? "", list);
        await sender.close(m);
      } catch (e) {
        if (!stop && (e as Error).name !== "ReceiveTimeoutError") failures.push(`sender: ${(e as Error).message}`);
      }
    }
  })();
  let migrating: Promise<void> | undefined;
  let batches = 0;
  let sentWhileMigrating = 0;
  let moving = false;
  const migrate = async (): Promise<void> => {
    await withClient(target.port, (c) => c.cluster("SETSLOT", slot, "IMPORTING", sourceId));
    await withClient(source.port, (c) => c.cluster("SETSLOT", slot, "MIGRATING", targetId));
    moving = true;
    for (;;) {
      const keys = (await withClient(source.port, (c) => c.cluster("GETKEYSINSLOT", slot, 3))) as string[];
      if (keys.length === 0) break;
      try {
        await withClient(source.port, (c) =>
          c.call("MIGRATE", "127.0.0.1", String(target.port), "", "0", "5000", "KEYS", ...keys),
        );
      } catch (e) {
        failures.push(`MIGRATE ${keys.join(",")}: ${(e as Error).message}`);
        await withClient(source.port, (c) =>
          c.call("MIGRATE", "127.0.0.1", String(target.port), "", "0", "5000", "REPLACE", "KEYS", ...keys),
        );
      }
      batches++;
      await sleep(30);
    }
    moving = false;
    for (const node of masters) await withClient(node.port, (c) => c.cluster("SETSLOT", slot, "NODE", targetId));
  };
  for (let i = 0; i < N; i++) {
    if (i === 150) migrating = migrate();
    try {
      const s = await sender.send({ i }, { to: "worker", timeout: 20_000 });
      sent.add(s.id);
      if (moving) sentWhileMigrating++;
    } catch (e) {
      failures.push(`send ${i}: ${(e as Error).message}`);
    }
  }
  await migrating;
  const deadline = Date.now() + 40_000;
  while (Date.now() < deadline && [...sent].some((id) => !outcomes.has(id))) await sleep(200);
  stop = true;
  await Promise.all([workerLoop, senderLoop]);
  const node = await sender.node();
  await Promise.all([sender.end(), worker.end()]);
  const missing = [...sent].filter((id) => !outcomes.has(id));
  const twice = [...outcomes].filter(([, list]) => list.length > 1);
  t.diagnostic(`${batches} MIGRATE batches, ${sentWhileMigrating} sends answered during them, now on ${node}`);
  assert.ok(batches > 5, "the slot moved in several batches, while the channels ran");
  assert.equal(node, `127.0.0.1:${target.port}`);
  assert.deepEqual(failures, []);
  assert.deepEqual(errors, []);
  assert.equal(sent.size, N);
  assert.equal(missing.length, 0);
  assert.equal(twice.length, 0);
});
