// Review r23: `finishedRecords` bounds the finished records kept beyond a minute. FINISH trims two a call,
// so after a burst of finishes and then quiet, every record of the burst lived the whole `retain` (a day
// by default): 300 closes with finishedRecords 0 left 300 records for a day. The sweep trims them now.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { withClient } from "../../helpers/redis-probe.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { sleep } from "../../helpers/wait-for.js";

let server: RedisServer;
before(async () => {
  server = await startRedis();
});
after(async () => {
  await server.stop();
});

it("review: finished records of a burst, past a minute and past finishedRecords, go at the next sweeps", { timeout: 30_000 }, async (t) => {
  const prefix = `r23-burst-${randomUUID()}:{durable}:`;
  // What a burst of 300 finishes two minutes ago left (as FINISH writes them): done records with a day to
  // live, listed in P finished by finish time; and 5 finished just now, within the minute.
  await withClient(server.port, async (admin) => {
    const [seconds, micros] = (await admin.time()) as [number | string, number | string];
    const now = Number(seconds) * 1_000 + Math.floor(Number(micros) / 1_000);
    for (let i = 0; i < 305; i++) {
      const recent = i >= 300;
      const finished = recent ? now : now - 120_000;
      await admin.hset(`${prefix}m:old-${i}`, "state", "done", "holder", "w", "finished", finished, "finishedBy", "r", "sent", finished);
      await admin.pexpire(`${prefix}m:old-${i}`, 86_400_000);
      await admin.zadd(`${prefix}finished`, finished, `old-${i}`);
    }
  });
  const channel = await DurableChannel.open("sweeper", { connection: server.url, prefix, finishedRecords: 2, sweepInterval: 50 });
  t.after(() => channel.end());
  const left = (): Promise<number> => withClient(server.port, (admin) => admin.zcard(`${prefix}finished`));
  const deadline = Date.now() + 10_000;
  while ((await left()) > 5 && Date.now() < deadline) await sleep(50);
  const kept = await withClient(server.port, async (admin) => {
    const records: number[] = [];
    for (let i = 0; i < 305; i++) records.push(await admin.exists(`${prefix}m:old-${i}`));
    return records;
  });
  assert.equal(kept.slice(0, 300).filter(Boolean).length, 0, "the 300 records older than a minute are gone");
  assert.equal(kept.slice(300).filter(Boolean).length, 5, "the 5 within the minute stay (a resend may still come)");
  assert.equal(await left(), 5);
});
