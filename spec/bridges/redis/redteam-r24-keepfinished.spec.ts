// Red team (r24): P keepfinished held the largest finishedRecords any channel of the prefix ever asked,
// and only grew: once a channel asked 1,000 (or 1,000,000), every later trim of the prefix kept that many
// finished records, long after that channel ended or died. The bound now follows the channels alive:
// each channel's bound is in P keepby, written by its heartbeat and removed with its lease (end(), or the
// sweep finding it dead); the trims use the largest of those and the call's own. The P keepfinished a
// channel before r24 wrote still counts while such a channel is alive, and goes once none is.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { withClient } from "../../helpers/redis-probe.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { sleep } from "../../helpers/wait-for.js";

let server: RedisServer;
before(async () => {
  server = await startRedis({ own: true });
});
after(async () => {
  await server.stop();
});

// 50 done records finished two minutes ago (Redis clock), as FINISH leaves them: trimmed down to the
// prefix's bound by the next sweeps.
async function seedFinished(prefix: string): Promise<void> {
  await withClient(server.port, async (admin) => {
    const [s, us] = (await admin.time()) as [number | string, number | string];
    const finished = Number(s) * 1_000 + Math.floor(Number(us) / 1_000) - 120_000;
    for (let i = 0; i < 50; i++) {
      const record = { state: "done", holder: "w", finished: `${finished} 0`, finishedBy: "r", sent: finished };
      await admin.hset(`${prefix}m:job-${i}`, record);
      await admin.pexpire(`${prefix}m:job-${i}`, 86_400_000);
      await admin.zadd(`${prefix}finished`, finished - 50 + i, `job-${i}`);
    }
  });
}

const kept = (prefix: string): Promise<number> => withClient(server.port, (admin) => admin.zcard(`${prefix}finished`));

// Polls until the count is `expected` (the sweeps trim up to 1,000 a run, every 50 ms), for 10 s at most.
async function settlesAt(prefix: string, expected: number, what: string): Promise<void> {
  let last = -1;
  for (let i = 0; i < 100 && last !== expected; i++) {
    if (i > 0) await sleep(100);
    last = await kept(prefix);
  }
  assert.equal(last, expected, what);
}

it("red team: the finished records kept follow the channels alive: a channel that asked many stops counting once it ended", {
  timeout: 60_000,
}, async (t) => {
  const prefix = `r24-keep-${randomUUID()}:{durable}:`;
  await seedFinished(prefix);
  const big = await DurableChannel.open("big", { connection: server.url, prefix, finishedRecords: 1_000, sweepInterval: 50 });
  const small = await DurableChannel.open("small", { connection: server.url, prefix, finishedRecords: 10, sweepInterval: 50 });
  t.after(() => Promise.all([big.end(), small.end()]));
  await sleep(1_000);
  assert.equal(await kept(prefix), 50, "big's bound (1,000) keeps all 50 while it is open");
  await big.end();
  await settlesAt(prefix, 10, "once big ended, small's bound (10) applies");
  const newest = await withClient(server.port, (admin) => admin.zrange(`${prefix}finished`, "0", "-1"));
  assert.deepEqual(
    newest,
    Array.from({ length: 10 }, (_, i) => `job-${40 + i}`),
    "the newest 10 are those kept",
  );
});

it("red team: a channel that died (its lease ran out) stops counting once the sweep finds it dead", {
  timeout: 60_000,
}, async (t) => {
  const prefix = `r24-keep-${randomUUID()}:{durable}:`;
  await seedFinished(prefix);
  // What a channel with finishedRecords 1,000 left when its process was killed: its heartbeat's writes.
  await withClient(server.port, async (admin) => {
    const [s] = (await admin.time()) as [number | string, number | string];
    await admin.hset(`${prefix}consumers`, "dead", "big");
    await admin.hset(`${prefix}leases`, "dead", Number(s) * 1_000 + 3_000);
    await admin.hset(`${prefix}leasems`, "dead", 5_000);
    await admin.zadd(`${prefix}keepby`, 1_000, "dead");
  });
  const small = await DurableChannel.open("small", { connection: server.url, prefix, finishedRecords: 10, sweepInterval: 50 });
  t.after(() => small.end());
  await sleep(1_000);
  assert.equal(await kept(prefix), 50, "the dead channel's bound counts while its lease runs");
  await settlesAt(prefix, 10, "its lease ran out: small's bound applies");
  assert.equal(await withClient(server.port, (admin) => admin.zscore(`${prefix}keepby`, "dead")), null, "its bound is gone");
});

it("red team: P keepfinished written before r24 counts while a channel of that version is alive, and goes once none is", {
  timeout: 60_000,
}, async (t) => {
  const prefix = `r24-keep-${randomUUID()}:{durable}:`;
  await seedFinished(prefix);
  // A channel of the previous version: a lease and a consumer (its heartbeat) but no bound in P keepby;
  // the largest bound it asked is P keepfinished, a string with no expiry.
  await withClient(server.port, async (admin) => {
    await admin.set(`${prefix}keepfinished`, "1000000");
    await admin.hset(`${prefix}consumers`, "old", "old");
    await admin.hset(`${prefix}leases`, "old", Date.now() + 3_600_000);
  });
  const small = await DurableChannel.open("small", { connection: server.url, prefix, finishedRecords: 10, sweepInterval: 50 });
  t.after(() => small.end());
  await sleep(1_000);
  assert.equal(await kept(prefix), 50, "kept while the old channel is alive");
  assert.equal(await withClient(server.port, (admin) => admin.get(`${prefix}keepfinished`)), "1000000");
  // The old channel ends (its release removes its lease and consumer).
  await withClient(server.port, async (admin) => {
    await admin.hdel(`${prefix}consumers`, "old");
    await admin.hdel(`${prefix}leases`, "old");
  });
  await settlesAt(prefix, 10, "no channel of the old version alive: the bound follows the live ones");
  // The old value is gone; what is there now is the live channels' own (r24 channels write it for older ones).
  const legacy = await withClient(server.port, (admin) => admin.get(`${prefix}keepfinished`));
  assert.ok(legacy === null || Number(legacy) <= 10, `P keepfinished ${legacy}: the old 1,000,000 deleted`);
});

it("review: with a channel before r24 alive, a channel of r24 raises P keepfinished to its bound (the only key the older one reads)", {
  timeout: 60_000,
}, async (t) => {
  const prefix = `r24-keep-${randomUUID()}:{durable}:`;
  // A channel of the previous version, alive: a lease and a consumer, no bound in P keepby.
  await withClient(server.port, async (admin) => {
    await admin.hset(`${prefix}consumers`, "old", "old");
    await admin.hset(`${prefix}leases`, "old", Date.now() + 3_600_000);
  });
  const big = await DurableChannel.open("big", { connection: server.url, prefix, finishedRecords: 1_000, sweepInterval: 50 });
  t.after(() => big.end());
  let legacy: string | null = null;
  for (let i = 0; i < 100 && legacy !== "1000"; i++) {
    await sleep(100);
    legacy = await withClient(server.port, (admin) => admin.get(`${prefix}keepfinished`));
  }
  // Before this, the older channel trimmed big's records to its own bound (it knows no P keepby).
  assert.equal(legacy, "1000", "P keepfinished holds big's bound");
  await sleep(500);
  assert.equal(await withClient(server.port, (admin) => admin.get(`${prefix}keepfinished`)), "1000", "kept while the older channel is alive");
});

it("review: members of P keepby without a lease (left when a channel before r24 requeued a dead r24 channel) are dropped by the sweep", {
  timeout: 60_000,
}, async (t) => {
  const prefix = `r24-keep-${randomUUID()}:{durable}:`;
  // 200 bounds below the live channel's, so keptFinished (which drops only stale members at the top) never meets them.
  await withClient(server.port, async (admin) => {
    for (let i = 0; i < 200; i++) await admin.zadd(`${prefix}keepby`, 5, `gone-${i}`);
  });
  const small = await DurableChannel.open("small", { connection: server.url, prefix, finishedRecords: 10, sweepInterval: 50 });
  t.after(() => small.end());
  let members = -1;
  for (let i = 0; i < 100 && members !== 1; i++) {
    await sleep(100);
    members = await withClient(server.port, (admin) => admin.zcard(`${prefix}keepby`));
  }
  assert.equal(members, 1, "only the live channel's bound is left");
});
