// Red team (round 20): another client of the same Redis overwrites a RedisQueue's list with a string. Its
// get() and getNowait() must reject with berrymq's typed RedisCommandError (code REDIS_COMMAND_FAILED,
// Redis's WRONGTYPE as the cause), as DurableChannel's calls do, not with ioredis's bare ReplyError; and
// work again once the key is a list again.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, it } from "node:test";
import { Redis } from "ioredis";
import { RedisCommandError } from "../../../bridges/redis/errors.js";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";

let server: RedisServer;
before(async () => {
  server = await startRedis();
});
after(async () => {
  await server.stop();
});

it("red team: get() and getNowait() on a queue key another client made a string reject with RedisCommandError, then recover", async () => {
  const bus = new Bus();
  const queue = new RedisQueue("job:*", { bus, connection: server.url, prefix: `rt20q-${randomUUID()}:` });
  const raw = new Redis(server.url);
  try {
    await raw.set(queue.key, "not a list");
    for (const attempt of [() => queue.get({ timeout: 2_000 }), () => queue.getNowait()]) {
      await assert.rejects(attempt(), (error: Error & { code?: string; cause?: unknown }) => {
        assert.ok(error instanceof RedisCommandError, `${error.name}: ${error.message}`);
        assert.equal(error.code, "REDIS_COMMAND_FAILED");
        assert.match(String((error.cause as Error)?.message), /WRONGTYPE/);
        return true;
      });
    }
    await raw.del(queue.key);
    bus.twitter("job:run", 1);
    const message = await queue.get({ timeout: 5_000 });
    assert.deepEqual(message.args, [1]);
  } finally {
    raw.disconnect();
    await queue.close();
  }
});
