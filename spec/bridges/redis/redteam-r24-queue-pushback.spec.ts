// Red team (r24): a message a RedisQueue popped while it closed was put back with LPUSH; when that push
// failed (Redis hung or gone) the message was in no queue any more, and get() rejected with ioredis's raw
// error: lost, named nowhere, counted nowhere. Now the push-back is raced against close()'s cut, get()
// rejects with QueueClosedError as documented, and the message is reported as
// RedisQueuePushBackError (REDIS_QUEUE_PUSHBACK_FAILED) naming its id, messageId and queue and carrying it
// whole (the decoded message and the envelope as it was in Redis, to push back), counted in
// stats.unreturned; `mayBeQueued` says whether Redis may still apply the push-back (it never answered).
//
// The pop must land after close() began: the spec's own process blocks its event loop (execFileSync)
// while redis-cli pushes the message, which Redis hands at once to the queue's blocked BLPOP; still in
// that synchronous stretch it calls close() and stops Redis (SIGSTOP), so the queue reads the popped
// message only once it is closing, and its LPUSH goes to a Redis that answers nothing.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { it } from "node:test";
import { RedisQueuePushBackError } from "../../../bridges/redis/errors.js";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import { type BerryError, QueueClosedError } from "../../../lib/errors.js";
import { clientsNamed } from "../../helpers/redis-clients.js";
import { withClient } from "../../helpers/redis-probe.js";
import { startRedis } from "../../helpers/redis-server.js";
import { settlesWithin, sleep } from "../../helpers/wait-for.js";

for (const signal of ["SIGSTOP", "SIGKILL"] as const) {
  it(`red team: a message popped while the queue closes, whose push-back Redis never answers (${signal}), is reported whole and counted`, {
    timeout: 60_000,
  }, async (t) => {
    const own = await startRedis({ own: true });
    let stopped = false;
    t.after(async () => {
      if (stopped && own.pid !== undefined) process.kill(own.pid, "SIGCONT");
      await own.stop();
    });
    const bus = new Bus();
    const name = `rt24-${randomUUID()}`;
    const queue = new RedisQueue("job:*", { bus, connection: own.url, name });
    const errors: BerryError[] = [];
    queue.on("error", (error) => void errors.push(error));
    // The envelope of a real message, taken out of the list again: the spec pushes it at the right moment.
    bus.twitter("job:late", 42);
    const deadline = Date.now() + 5_000;
    while (queue.stats.pushed < 1) {
      assert.ok(Date.now() < deadline, "the message pushed");
      await sleep(20);
    }
    const envelope = await withClient(own.port, (client) => client.lpop(queue.key));
    assert.ok(typeof envelope === "string");
    const messageId = (JSON.parse(envelope) as { messageId: string }).messageId;

    const getting = queue.get().catch((error: unknown) => error);
    for (let i = 0; ; i++) {
      const blocked = await clientsNamed(own.port, `berrymq-queue-block:${name}`);
      if (blocked.some((line) => line.includes("cmd=blmove"))) break;
      assert.ok(i < 250, "the get() blocks in BLPOP");
      await sleep(20);
    }
    // One synchronous stretch: the push (Redis answers the BLPOP with it), a later command on a new
    // connection (so that answer was written), close() begins, Redis stops answering.
    execFileSync("redis-cli", ["-p", String(own.port), "RPUSH", queue.key, envelope]);
    execFileSync("redis-cli", ["-p", String(own.port), "PING"]);
    const closing = queue.close();
    process.kill(own.pid as number, signal);
    stopped = signal === "SIGSTOP";

    assert.ok(await settlesWithin(closing, 20_000), "close() returns");
    const outcome = await getting;
    assert.ok(outcome instanceof QueueClosedError, `the get() rejects with QueueClosedError: ${String(outcome)}`);
    const reports = errors.filter((error) => error instanceof RedisQueuePushBackError);
    assert.equal(reports.length, 1, `one report: ${errors.map((error) => error.message).join(" | ")}`);
    const report = reports[0] as RedisQueuePushBackError;
    assert.equal(report.code, "REDIS_QUEUE_PUSHBACK_FAILED");
    assert.equal(report.queue, queue.key);
    assert.deepEqual(report.dropped, { id: "job:late", messageId });
    assert.ok(report.message.includes(messageId) && report.message.includes(queue.key), report.message);
    assert.equal(report.envelope, envelope, "the value as it was in Redis, to push back");
    assert.equal(report.popped?.messageId, messageId);
    assert.deepEqual(report.popped?.args, [42], "the message whole, content included");
    assert.equal(queue.stats.unreturned, 1);

    // Unanswered is not refused: a hung Redis that resumes reads the LPUSH the cut connection had sent.
    assert.equal(report.mayBeQueued, true);
    assert.ok(report.message.includes("may or may not be in the queue again"), report.message);
    if (signal === "SIGSTOP") {
      process.kill(own.pid as number, "SIGCONT");
      stopped = false;
    } else {
      // Restarted empty: the report's envelope is the only copy left; pushed back, another consumer gets it.
      await own.restart();
      await withClient(own.port, (client) => client.lpush(queue.key, report.envelope));
    }
    const other = new RedisQueue("job:*", { bus: new Bus(), connection: own.url, name, feed: false });
    try {
      const again = await other.get({ timeout: 5_000 });
      assert.equal(again.messageId, messageId);
      assert.equal(await other.qsize(), 0, "once");
    } finally {
      await other.close();
    }
  });
}

it("review: a push-back Redis refuses (WRONGTYPE: another client made the key a string) is reported with mayBeQueued false", {
  timeout: 60_000,
}, async (t) => {
  const own = await startRedis({ own: true });
  t.after(() => own.stop());
  const bus = new Bus();
  const name = `rt24-${randomUUID()}`;
  const queue = new RedisQueue("job:*", { bus, connection: own.url, name });
  const errors: BerryError[] = [];
  queue.on("error", (error) => void errors.push(error));
  bus.twitter("job:late", 42);
  while (queue.stats.pushed < 1) await sleep(20);
  const envelope = (await withClient(own.port, (client) => client.lpop(queue.key))) as string;
  const getting = queue.get().catch((error: unknown) => error);
  for (let tries = 0; ; tries++) {
    assert.ok(tries < 250, "the queue's BLPOP is waiting");
    if ((await clientsNamed(own.port, `berrymq-queue-block:${name}`)).some((line) => line.includes("cmd=blmove"))) break;
    await sleep(20);
  }
  // One synchronous stretch (the event loop blocked): the message goes to the waiting BLPOP, the key
  // becomes a string, and close() begins before the queue reads what it popped.
  execFileSync("redis-cli", ["-p", String(own.port), "RPUSH", queue.key, envelope]);
  execFileSync("redis-cli", ["-p", String(own.port), "SET", queue.key, "not-a-list"]);
  assert.ok(await settlesWithin(queue.close(), 5_000), "close() returns");
  assert.ok((await getting) instanceof QueueClosedError, `get() rejected with ${String(await getting)}`);
  const reported = errors.filter((error) => error instanceof RedisQueuePushBackError);
  assert.equal(reported.length, 1, `reported: ${errors.map((error) => error.message).join(" | ")}`);
  const [pushBack] = reported as RedisQueuePushBackError[];
  assert.equal(pushBack?.mayBeQueued, false, "Redis refused it: it is in no queue");
  assert.equal(pushBack?.envelope, envelope);
  assert.equal(pushBack?.popped?.id, "job:late");
  assert.match(pushBack?.message ?? "", /WRONGTYPE/);
  assert.equal(queue.stats.unreturned, 1);
});
