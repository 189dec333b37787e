// Red team r30 (the core's queue iteration, carried to RedisQueue): `return()` on an iterator whose `next()`
// still waits (a next() raced against a timeout and given up on) must leave the next message queued.
// RedisQueue's iterator called get() without a signal: its return() ended the iteration, but the get it
// had started went on popping, and took the next message for the next() nobody awaited any more: lost.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

let server: RedisServer;
before(async () => {
  server = await startRedis();
});
after(async () => {
  await server.stop();
});

describe("red team r30: RedisQueue iteration ended while a next() waits", () => {
  it("leaves the next message queued for the next get()", async (t) => {
    const bus = new Bus();
    const queue = new RedisQueue("job:*", { bus, connection: server.url, prefix: `r30-it-${randomUUID()}:` });
    t.after(() => queue.close());
    const iterator = queue[Symbol.asyncIterator]();
    const abandoned = iterator.next();
    const raced = await Promise.race([abandoned, sleep(200).then(() => "timeout" as const)]);
    assert.equal(raced, "timeout");
    assert.deepEqual(await iterator.return?.(), { value: undefined, done: true });
    await sleep(100); // the given-up pop back from Redis
    bus.twitter("job:after", 1);
    await waitFor(() => queue.stats.pushed === 1, "pushed");
    const message = await queue.get({ timeout: 3_000 });
    assert.deepEqual([message.id, message.args], ["job:after", [1]]);
    assert.deepEqual(await abandoned, { value: undefined, done: true }, "the abandoned next() ends done, with no message");
  });
});
