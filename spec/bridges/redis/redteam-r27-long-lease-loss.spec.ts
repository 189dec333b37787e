// Red team r27: a durable channel notices lost data (Redis restarted empty) at its heartbeat, which ran
// every lease/3. With a long lease (lease: Infinity, "never give my messages to another receiver") it beat
// once, at open, and never again: a Redis restarted without persistence lost every message unreported.
// The heartbeat now runs at least every 5 s (MAX_BEAT), whatever the lease.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { RedisDataLostError } from "../../../bridges/redis/errors.js";
import { startRedis } from "../../helpers/redis-server.js";
import { waitFor } from "../../helpers/wait-for.js";

it("red team: a channel with lease Infinity reports a Redis restarted empty within a heartbeat of 5 s", {
  timeout: 30_000,
}, async (t) => {
  const redis = await startRedis({ own: true });
  t.after(() => redis.stop());
  const channel = await DurableChannel.open("long", {
    connection: redis.url,
    prefix: `r27-${randomUUID()}:{durable}:`,
    lease: Number.POSITIVE_INFINITY,
  });
  t.after(() => channel.end());
  const errors: unknown[] = [];
  channel.on("error", (error) => errors.push(error));
  await channel.send("lost", { to: "nobody" });
  await redis.kill();
  await redis.restart();
  await waitFor(() => errors.some((error) => error instanceof RedisDataLostError), "RedisDataLostError", 12_000);
  assert.equal(errors.filter((error) => error instanceof RedisDataLostError).length, 1);
});
