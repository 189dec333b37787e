// Red team r27: RedisQueue has "the same interface as Queue". The in-process Queue's get({ timeout: 0 })
// takes a message that is there (a poll), and takes Infinity as no timeout. RedisQueue's threw
// QueueTimeoutError at once for timeout 0, with messages queued (a consumer polling so never got one),
// and refused Infinity. Now timeout 0 pops once without blocking, and Infinity waits as no timeout does.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import { InvalidArgumentError, QueueTimeoutError } from "../../../lib/errors.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { waitFor } from "../../helpers/wait-for.js";

let redis: RedisServer;
before(async () => {
  redis = await startRedis({ own: true });
});
after(async () => {
  await redis?.stop();
});

it("red team: get({ timeout: 0 }) takes a queued message and times out on an empty queue; Infinity waits; negative and NaN are refused", {
  timeout: 30_000,
}, async (t) => {
  const bus = new Bus();
  const queue = new RedisQueue("r27poll:*", { bus, connection: redis.url, prefix: `r27-${process.pid}-${Date.now()}:` });
  t.after(() => queue.close());
  bus.twitter("r27poll:a", 1);
  await waitFor(() => queue.stats.pushed === 1, "pushed");
  assert.equal((await queue.get({ timeout: 0 })).id, "r27poll:a");
  await assert.rejects(queue.get({ timeout: 0 }), QueueTimeoutError);
  const waiting = queue.get({ timeout: Number.POSITIVE_INFINITY });
  bus.twitter("r27poll:b", 2);
  assert.equal((await waiting).id, "r27poll:b");
  await assert.rejects(queue.get({ timeout: -1 }), InvalidArgumentError);
  await assert.rejects(queue.get({ timeout: Number.NaN }), InvalidArgumentError);
});
