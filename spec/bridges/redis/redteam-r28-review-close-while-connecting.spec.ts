// Red team r28 review: a RedisLink closed while it is still connecting to a Redis Cluster, or through
// Sentinel, never settled its `ready`: whenReady (connection.ts) waited for "ready" or "error", and such
// a client, closed, emits neither (only "end"). Whoever awaited `ready` (or the link's first PSUBSCRIBE on
// a Cluster) hung for ever. Here the Cluster's startup node, or the sentinel, is a real redis-server
// stopped (SIGSTOP: the kernel accepts connections, nothing answers); `ready` must reject once the link is
// closed, with RedisConnectFailedError saying the connection is closed.
import assert from "node:assert/strict";
import { it } from "node:test";
import { RedisLink } from "../../../bridges/redis/redis-link.js";
import { Bus } from "../../../lib/bus.js";
import { hungRedis } from "../../helpers/hung-redis.js";

const stopped = hungRedis();

for (const [label, connection] of [
  ["a Redis Cluster", () => ({ cluster: [{ host: "127.0.0.1", port: stopped().port }] })],
  ["Sentinel", () => ({ sentinels: [{ host: "127.0.0.1", port: stopped().port }], name: "mymaster" })],
] as const) {
  it(`red team: a link closed while connecting to ${label} settles its ready`, { timeout: 30_000 }, async () => {
    const link = new RedisLink({ bus: new Bus(), connection: connection(), replylessPublish: false });
    const settled = link.ready.then(
      () => "opened",
      (error: unknown) => error as Error & { code?: string },
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    await link.close();
    const outcome = await Promise.race([
      settled,
      new Promise<"pending">((resolve) => setTimeout(() => resolve("pending"), 8_000)),
    ]);
    assert.notEqual(outcome, "pending", "ready still pending 8 s after close()");
    assert.notEqual(outcome, "opened");
    const error = outcome as Error & { code?: string };
    assert.equal(error.code, "REDIS_CONNECT_FAILED", error.message);
    assert.match(error.message, /Connection is closed\.$/);
  });
}
