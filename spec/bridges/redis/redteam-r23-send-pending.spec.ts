// Red team (r23): send() while Redis is down queued every call in memory, unbounded (the batcher's queue
// and ioredis's offline queue). Sends waiting for Redis are now bounded by `maxPending` (default 10,000):
// one past it rejects at once naming its id (DurableOverflowError since r24), and nothing is recorded for it.
import assert from "node:assert/strict";
import { it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { DurableOverflowError } from "../../../bridges/redis/errors.js";
import { sendsWhileDown } from "./while-down.js";

it("red team: sends waiting for a Redis that is down are bounded by maxPending; those past it reject at once naming their id", {
  timeout: 60_000,
}, async (t) => {
  const { own, prefix, worker, ids, outcomes } = await sendsWhileDown(t, "r23", 100, 150);
  const early = await Promise.race([
    Promise.all(outcomes.slice(100)),
    new Promise((resolve) => setTimeout(resolve, 1_000, "pending")),
  ]);
  assert.notEqual(early, "pending", "the 50 past the bound reject at once, with Redis still down");
  for (const [i, outcome] of (early as unknown[]).entries()) {
    assert.ok(outcome instanceof DurableOverflowError, String(outcome));
    assert.ok(outcome.message.includes(ids[100 + i] as string), "names the message's id");
  }
  await own.restart();
  assert.deepEqual(
    await Promise.all(outcomes.slice(0, 100)),
    Array(100).fill("sent"),
    "the 100 held are sent once Redis is back",
  );
  const received = new Set<unknown>();
  for (let i = 0; i < 100; i++) received.add((await worker.receive({ timeout: 5_000 })).content);
  assert.equal(received.size, 100);
  assert.throws(() => new DurableChannel("bad", { connection: own.url, prefix, maxPending: 0 }), /maxPending/);
});
