import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Redis } from "ioredis";
import { startRedis } from "../../helpers/redis-server.js";

describe("redis-server spec helper", () => {
  it("fails with install instructions when the redis-server binary is missing", async () => {
    await assert.rejects(startRedis({ binary: "/nonexistent/redis-server", own: true }), /apt-get install redis-server.*REDIS_URL/);
  });

  it("starts its own server on a free port (never 6379), restarts it with its AOF data, and stops it", async () => {
    const server = await startRedis({ aof: true, own: true });
    assert.notEqual(server.port, 6379);
    const client = new Redis(server.url, { maxRetriesPerRequest: null });
    client.on("error", () => {});
    await client.set("kept", "yes");
    await server.restart();
    assert.equal(await client.get("kept"), "yes");
    client.disconnect();
    await server.stop();
  });
});
