// Red team (r24): a FLUSHALL (or a DEL of the queue's keys) on a live connection was noticed by durable
// channels at their heartbeat, but by a RedisQueue only at its next reconnection: on a connection that
// stayed up, the messages queued before were gone and nothing said so. Now a waiting get() reads the
// queue's mark at most once a second (one call, on the other connection, alongside the pop), and every
// push reads it inside its own script: a consumer notices within about a second while a get() waits, a
// feeder at its next push, each once, with no reconnection and no round trip per message.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, it } from "node:test";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import type { BerryError } from "../../../lib/errors.js";
import { clientsNamed } from "../../helpers/redis-clients.js";
import { withClient } from "../../helpers/redis-probe.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

let server: RedisServer;
before(async () => {
  server = await startRedis({ own: true });
});
after(async () => {
  await server.stop();
});

// CLIENT IDs of a queue's two connections: unchanged means no reconnection.
async function connectionIds(name: string): Promise<string[]> {
  const lines = [
    ...(await clientsNamed(server.port, `berrymq-queue:${name}`)),
    ...(await clientsNamed(server.port, `berrymq-queue-block:${name}`)),
  ];
  return lines.map((line) => /(?:^|\s)id=(\d+)/.exec(line)?.[1] ?? "?").sort();
}

it("red team: a consumer whose get() waits notices a FLUSHALL on its live connection (RedisDataLostError, once)", {
  timeout: 60_000,
}, async (t) => {
  const name = `rt24-${randomUUID()}`;
  const feeder = new Bus();
  const queue = new RedisQueue("job:*", { bus: feeder, connection: server.url, name });
  t.after(() => queue.close());
  const errors: BerryError[] = [];
  queue.on("error", (error) => void errors.push(error));
  feeder.twitter("job:a", 1);
  await waitFor(() => queue.stats.pushed === 1, "pushed");
  assert.equal((await queue.get({ timeout: 5_000 })).args[0], 1);
  feeder.twitter("job:b", 2);
  await waitFor(() => queue.stats.pushed === 2, "pushed");
  const before = await connectionIds(name);
  assert.equal(before.length, 2);
  await withClient(server.port, (client) => client.flushall());
  // The get() waits (the queue is empty now); the loss is reported meanwhile.
  const getting = queue.get({ timeout: 10_000 }).catch((error: unknown) => error);
  await waitFor(() => errors.some((error) => error.code === "REDIS_DATA_LOST"), "the loss reported", 10_000);
  const lost = errors.filter((error) => error.code === "REDIS_DATA_LOST");
  assert.ok(lost[0]?.message.includes(queue.key), lost[0]?.message);
  await sleep(2_500); // more checks go by: reported once
  assert.equal(errors.filter((error) => error.code === "REDIS_DATA_LOST").length, 1, "once");
  assert.deepEqual(
    errors.filter((error) => error.code !== "REDIS_DATA_LOST"),
    [],
    "nothing else reported: no connection loss",
  );
  assert.deepEqual(await connectionIds(name), before, "the same connections: noticed without a reconnection");
  feeder.twitter("job:c", 3);
  assert.equal(((await getting) as { args: unknown[] }).args[0], 3, "the queue goes on");
});

it("red team: a queue that only feeds notices a FLUSHALL at its next push (RedisDataLostError, once)", {
  timeout: 60_000,
}, async (t) => {
  const name = `rt24-${randomUUID()}`;
  const bus = new Bus();
  const queue = new RedisQueue("job:*", { bus, connection: server.url, name });
  t.after(() => queue.close());
  const errors: BerryError[] = [];
  queue.on("error", (error) => void errors.push(error));
  bus.twitter("job:a", 1);
  await waitFor(() => queue.stats.pushed === 1, "pushed");
  await sleep(300); // the mark read at the connection has come back
  const before = await connectionIds(name);
  await withClient(server.port, (client) => client.flushall());
  await sleep(1_500);
  assert.equal(errors.length, 0, "no get() and no push: nothing asked yet");
  for (let i = 0; i < 3; i++) bus.twitter("job:b", i);
  await waitFor(() => queue.stats.pushed === 4, "pushed");
  await waitFor(() => errors.some((error) => error.code === "REDIS_DATA_LOST"), "the loss reported", 10_000);
  assert.equal(errors.length, 1, `once, and nothing else: ${errors.map((error) => error.message).join(" | ")}`);
  assert.ok(errors[0]?.message.includes(queue.key), errors[0]?.message);
  assert.deepEqual(await connectionIds(name), before, "the same connections: noticed without a reconnection");
  assert.equal(await queue.qsize(), 3, "the pushes after the flush are queued");
});
