// Red team r27: the host's wall clock set back (an NTP step, a VM resumed) while channels run. Local spans
// were measured with Date.now(): a durable channel stopped its heartbeats until the clock caught up, so the
// lease (on Redis's clock) ran out under a live receiver, its message went to another one and its reply got
// NotHeldError; a RedisQueue get()'s timeout was stretched by the step. They are measured on the monotonic
// clock (performance.now) now. Date.now is set back in this process only, for the test's span.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import { QueueTimeoutError } from "../../../lib/errors.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { sleep } from "../../helpers/wait-for.js";

let redis: RedisServer;
before(async () => {
  redis = await startRedis({ own: true });
});
after(async () => {
  await redis?.stop();
});

const realNow = Date.now;
// Sets the wall clock back by `ms` until the returned function is called.
function setBack(ms: number): () => void {
  Date.now = () => realNow.call(Date) - ms;
  return () => {
    Date.now = realNow;
  };
}

it("red team: a durable receiver keeps its lease (and its message) when the wall clock is set back 30 s", {
  timeout: 30_000,
}, async (t) => {
  const prefix = `r27-${randomUUID()}:{durable}:`;
  const connection = redis.url;
  const sender = await DurableChannel.open("sender", { connection, prefix });
  const worker = await DurableChannel.open("worker", { connection, prefix, lease: 600 });
  t.after(() => Promise.all([sender.end(), worker.end()]));
  const sent = await sender.send({ task: 1 }, { to: "worker", timeout: 10_000 });
  const task = await worker.receive({ timeout: 2_000 });
  const restore = setBack(30_000);
  t.after(restore);
  await sleep(1_500);
  restore();
  await worker.reply(task, "done");
  const reply = await sender.receive({ timeout: 2_000 });
  assert.equal(reply.kind, "reply");
  assert.equal(reply.inReplyTo, sent.id);
  assert.equal(task.attempts, 1);
});

it("red team: a RedisQueue get() with a 300 ms timeout times out in time when the wall clock is set back 30 s", {
  timeout: 30_000,
}, async (t) => {
  const queue = new RedisQueue("r27clock:*", { bus: new Bus(), connection: redis.url, prefix: `r27-${randomUUID()}:` });
  t.after(() => queue.close());
  await queue.qsize();
  const started = performance.now();
  const getting = queue.get({ timeout: 300 });
  const restore = setBack(30_000);
  t.after(restore);
  await assert.rejects(getting, QueueTimeoutError);
  restore();
  const took = performance.now() - started;
  assert.ok(took < 2_500, `timed out after ${Math.round(took)} ms`);
});
