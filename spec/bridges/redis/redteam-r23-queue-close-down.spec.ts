// Red team (r23): RedisQueue.close() while Redis is down (killed, not hung). ioredis keeps the commands of
// a client that is reconnecting in its offline queue, and disconnect() on such a client fails none of them:
// close() cut the connections after its 5 s grace and then waited for ever for the pushes on their way;
// the messages fed meanwhile were neither pushed nor counted in stats.failed nor reported, and a get()
// waiting never settled. close() now returns, each unanswered push is counted and reported naming its
// message, and the get() rejects with QueueClosedError.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { it } from "node:test";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import { type BerryError, QueueClosedError } from "../../../lib/errors.js";
import { startRedis } from "../../helpers/redis-server.js";
import { settlesWithin, sleep } from "../../helpers/wait-for.js";

it("red team: RedisQueue.close() while Redis is down returns, reports each message fed meanwhile by its messageId, and fails the waiting get()", {
  timeout: 60_000,
}, async (t) => {
  const own = await startRedis({ own: true });
  t.after(() => own.stop());
  const bus = new Bus();
  const name = `rt23-${randomUUID()}`;
  const queue = new RedisQueue("job:*", { bus, connection: own.url, name });
  const errors: BerryError[] = [];
  queue.on("error", (error) => void errors.push(error));
  bus.twitter("job:before", 0);
  const deadline = Date.now() + 5_000;
  while (queue.stats.pushed < 1) {
    assert.ok(Date.now() < deadline, "the first message pushed");
    await sleep(20);
  }
  await own.kill();
  for (let i = 0; i < 3; i++) bus.twitter("job:down", i);
  // A timeout above 2^31-1 ms is taken (no TimeoutOverflowWarning, no immediate timeout).
  const getting = queue.get({ timeout: 2 ** 31 + 5 }).catch((error: unknown) => error);
  await sleep(200);

  assert.ok(await settlesWithin(queue.close(), 15_000), "close() returns while Redis is down");
  assert.ok(
    (await getting) instanceof QueueClosedError,
    `the waiting get() rejects with QueueClosedError: ${String(await getting)}`,
  );
  assert.equal(queue.stats.failed, 3, "the three pushes on their way are counted as failed");
  const dropped = errors.flatMap((error) => {
    const about = (error as { dropped?: { id: string; messageId: string } }).dropped;
    return error.code === "REDIS_COMMAND_FAILED" && about !== undefined ? [about] : [];
  });
  assert.deepEqual(
    dropped.map((about) => about.id),
    ["job:down", "job:down", "job:down"],
    "each is reported, naming its message",
  );
  assert.equal(new Set(dropped.map((about) => about.messageId)).size, 3, "three messages, three messageIds");
});
