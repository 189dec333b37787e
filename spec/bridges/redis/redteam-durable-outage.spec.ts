// Red team (r18): outage reports of DurableChannel with its WAIT connection opened lazily (at the first
// send with durability of its own): one `error` per outage, whichever connection fails, also when the
// lazily opened one is opened in the middle of the outage. Real redis-server (AOF on), killed and restarted.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { type TestContext, test } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import type { BerryError } from "../../../lib/errors.js";
import { startRedis } from "../../helpers/redis-server.js";
import { settlesWithin, sleep, waitFor } from "../../helpers/wait-for.js";

async function setUp(
  t: TestContext,
): Promise<{ restart: () => Promise<void>; kill: () => Promise<void>; channel: DurableChannel; errors: BerryError[] }> {
  const server = await startRedis({ aof: true, own: true });
  const channel = await DurableChannel.open("rt-outage", { connection: server.url, prefix: `rt-${randomUUID()}:{d}:` });
  const errors: BerryError[] = [];
  channel.on("error", (error) => void errors.push(error));
  t.after(async () => {
    await channel.end();
    await server.stop();
  });
  return { restart: () => server.restart(), kill: () => server.kill(), channel, errors };
}

test("red team: the lazily opened WAIT connection, open before the outage, adds no second report: one error for one SIGKILL", {
  timeout: 30_000,
}, async (t) => {
  const { restart, kill, channel, errors } = await setUp(t);
  await channel.send("before", { to: "b", durability: { replicas: 1, timeout: 50 } }); // opens the WAIT connection
  await kill();
  await waitFor(() => errors.length > 0, "the outage reported", 5_000);
  await sleep(1_500); // every connection retries meanwhile, each failing
  await restart();
  const sent = await channel.send("after", { to: "b", durability: { replicas: 1, timeout: 50 } });
  assert.equal(sent.replicas, 0);
  await sleep(500);
  assert.deepEqual(
    errors.map((error) => error.code),
    ["REDIS_CONNECTION"],
  );
});

test("red team: the WAIT connection opened in the middle of an outage (the first send with durability made while Redis is dead) adds no second report, and its send goes out once Redis is back", {
  timeout: 30_000,
}, async (t) => {
  const { restart, kill, channel, errors } = await setUp(t);
  await kill();
  await waitFor(() => errors.length > 0, "the outage reported", 5_000);
  const sent = channel.send("during", { to: "b", durability: { replicas: 1, timeout: 50 } }); // opens the WAIT connection now
  await sleep(1_500);
  await restart();
  assert.ok(await settlesWithin(sent, 10_000), "the send made during the outage goes out once Redis is back");
  assert.equal((await sent).replicas, 0);
  await sleep(1_000);
  assert.deepEqual(
    errors.map((error) => error.code),
    ["REDIS_CONNECTION"],
  );
});

test("red team: two outages, the second with only the lazily opened connection new since the first: two reports, not more", {
  timeout: 40_000,
}, async (t) => {
  const { restart, kill, channel, errors } = await setUp(t);
  await kill();
  await waitFor(() => errors.length === 1, "the first outage reported", 15_000);
  await restart();
  await channel.send("between", { to: "b", durability: { replicas: 1, timeout: 50 } });
  await sleep(300);
  await kill();
  await waitFor(() => errors.length >= 2, "the second outage reported", 15_000);
  await sleep(1_000);
  await restart();
  await channel.send("after", { to: "b", durability: { replicas: 1, timeout: 50 } });
  await sleep(500);
  assert.equal(errors.length, 2, errors.map((error) => error.message).join("\n"));
});

test("red team: a channel whose name holds a space (a name DurableChannel takes): end() cuts its Infinity WAIT short at once, as for any other name (its connections are found by name, and Redis refuses a connection name with a space)", {
  timeout: 30_000,
}, async (t) => {
  const server = await startRedis({ own: true });
  t.after(() => server.stop());
  const channel = await DurableChannel.open("my jobs", { connection: server.url, prefix: `rt-${randomUUID()}:{d}:` });
  const errors: BerryError[] = [];
  channel.on("error", (error) => void errors.push(error));
  const sent = channel.send("x", { to: "b", durability: { replicas: 1, timeout: Number.POSITIVE_INFINITY } });
  sent.catch(() => undefined);
  await sleep(300);
  const started = performance.now();
  await channel.end();
  const took = performance.now() - started;
  // With the name "jobs" end() takes ~10 ms and the send answers replicas: 0; with "my jobs" CLIENT SETNAME
  // failed (silently), CLIENT UNBLOCK finds no WAIT: end() waits out its 5 s grace, cuts the connections,
  // reports an error and fails the send.
  assert.deepEqual(
    errors.map((error) => error.message),
    [],
  );
  assert.equal((await sent).replicas, 0);
  assert.ok(took < 2_000, `end() took ${Math.round(took)} ms`);
});
