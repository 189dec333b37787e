// Review r23: two channels on one prefix (the default prefix is shared by every channel): "jobs" keeps the
// default finishedRecords (10,000: a resend within that is answered as the first call), "metrics" asks 0.
// The sweep of whichever channel held the prefix's sweep lock trimmed P finished to its own bound: jobs'
// records went within a sweep or two. The largest bound a channel of the prefix asked applies now.
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

it("review: a channel with finishedRecords 0 no longer trims the records of another channel of the prefix that keeps 10,000", { timeout: 30_000 }, async (t) => {
  const prefix = `r23-mixed-${randomUUID()}:{durable}:`;
  await withClient(server.port, async (admin) => {
    const [s, us] = (await admin.time()) as [number | string, number | string];
    const finished = Number(s) * 1_000 + Math.floor(Number(us) / 1_000) - 120_000;
    for (let i = 0; i < 50; i++) {
      await admin.hset(`${prefix}m:job-${i}`, "state", "done", "holder", "w", "finished", finished, "finishedBy", "r", "sent", finished);
      await admin.pexpire(`${prefix}m:job-${i}`, 86_400_000);
      await admin.zadd(`${prefix}finished`, finished, `job-${i}`);
    }
  });
  const jobs = await DurableChannel.open("jobs", { connection: server.url, prefix, sweepInterval: 1_000 });
  t.after(() => jobs.end());
  await sleep(1_500);
  const withJobsAlone = await withClient(server.port, (admin) => admin.zcard(`${prefix}finished`));
  const metrics = await DurableChannel.open("metrics", { connection: server.url, prefix, finishedRecords: 0, sweepInterval: 50 });
  t.after(() => metrics.end());
  await sleep(1_500);
  const withMetrics = await withClient(server.port, (admin) => admin.zcard(`${prefix}finished`));
  assert.equal(withJobsAlone, 50);
  assert.equal(withMetrics, 50, "jobs' records (its bound: 10,000) are kept");
});
