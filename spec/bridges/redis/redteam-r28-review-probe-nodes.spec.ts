// Red team r28 review: RedisConnectFailedError names a Cluster's startup nodes and probes each over TCP
// (connection.ts, nodeText and probeServers). A startup node given as a string was split at its last ":",
// not read as ioredis reads it: "6380" (a port, to ioredis) was named "6380:6379" and probed as the host
// "6380" (0.0.24.188, a host nobody named), and "alice:secret@127.0.0.1:6380" (credentials without a
// scheme, which ioredis takes) as the host "***@127.0.0.1" (a DNS lookup of it, "ENOTFOUND"). Here both
// name a real redis-server (not a Cluster: ioredis cannot read its slots), which the probe must find
// "reachable", named as 127.0.0.1:<port>, with no credential in the error.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { RedisLink } from "../../../bridges/redis/redis-link.js";
import { Bus } from "../../../lib/bus.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";

let redis: RedisServer;
before(async () => {
  redis = await startRedis({ own: true });
});
after(async () => {
  await redis?.stop();
});

for (const [label, node] of [
  ["a port as a string", () => String(redis.port)],
  ["credentials without a scheme", () => `alice:secret@127.0.0.1:${redis.port}`],
] as const) {
  it(`red team: a Cluster startup node given as ${label} is named and probed as ioredis reads it`, {
    timeout: 20_000,
  }, async () => {
    const error = await RedisLink.connect({
      bus: new Bus(),
      connection: { cluster: [node()] },
      replylessPublish: false,
      connectTimeout: 8_000,
    }).then(
      async (link) => {
        await link.close();
        assert.fail("connected to a Redis that is no Cluster");
      },
      (failed: unknown) => failed as Error & { code?: string; servers?: string[] },
    );
    assert.equal(error.code, "REDIS_CONNECT_FAILED", error.message);
    assert.deepEqual(error.servers, [`127.0.0.1:${redis.port}`]);
    assert.ok(error.message.includes(`(127.0.0.1:${redis.port}: reachable)`), error.message);
    assert.ok(!error.message.includes("secret") && !error.message.includes("alice"), error.message);
  });
}
