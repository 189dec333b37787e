// Review of r32's failover retry: a write refused as during a failover (READONLY, NOREPLICAS, ...) is sent
// again every 100 ms; without a bound, a client pointed at a replica by mistake (READONLY for good) waited
// for ever (a RedisQueue push) instead of failing, named. Past FAILOVER_RETRY_LIMIT (30 s; `limit` here) the
// refusal fails as it came. A real replica (of a port nobody listens on) refuses every write with READONLY.
import assert from "node:assert/strict";
import { it } from "node:test";
import { Redis } from "ioredis";
import { FAILOVER_RETRY_LIMIT, retryThroughFailover } from "../../../bridges/redis/failover-retry.js";
import { startRedis } from "../../helpers/redis-server.js";
import { freePort } from "../../helpers/free-port.js";

it("review r32: a write refused for good (READONLY of a replica) fails after the retry limit, named", { timeout: 20_000 }, async (t) => {
  const redis = await startRedis({ own: true, args: ["--replicaof", "127.0.0.1", String(await freePort())] });
  const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  t.after(async () => {
    client.disconnect();
    await redis.stop();
  });
  await client.connect();
  let calls = 0;
  const started = performance.now();
  const error = await retryThroughFailover(
    () => {
      calls++;
      return client.set("r32:key", "value");
    },
    () => true,
    1_000,
  ).then(
    () => undefined,
    (e: unknown) => e,
  );
  const took = performance.now() - started;
  assert.ok(error instanceof Error && /^READONLY/.test(error.message), `rejected with READONLY: ${String(error)}`);
  assert.ok(took >= 1_000 && took < 5_000, `gave up after ${Math.round(took)} ms (limit 1,000)`);
  assert.ok(calls >= 5, `sent again while within the limit (${calls} calls)`);
  assert.equal(FAILOVER_RETRY_LIMIT, 30_000, "the documented default");
});
