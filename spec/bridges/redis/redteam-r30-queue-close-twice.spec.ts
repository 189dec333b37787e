// Red team r30 (found on DurableChannel.end(), which it fixed): a second RedisQueue.close() resolved at once,
// while the first was still closing (a get in flight unblocked, its connections still open). A caller that
// awaited it and then stopped Redis, or checked its connections, found them open. It is the first call's
// promise now: both resolve once the queue's connections are closed.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import { QueueClosedError } from "../../../lib/errors.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { sleep } from "../../helpers/wait-for.js";

let server: RedisServer;
before(async () => {
  server = await startRedis();
});
after(async () => {
  await server.stop();
});

describe("red team r30: RedisQueue.close() called twice", () => {
  it("the second call resolves once the queue is closed, as the first does", async (t) => {
    const admin = new Redis(server.url);
    t.after(() => admin.disconnect());
    const name = `r30-close-${randomUUID()}`;
    const queue = new RedisQueue("job:*", { bus: new Bus(), connection: server.url, prefix: `${name}:`, name });
    const getting = queue.get().catch((error: unknown) => error);
    await sleep(200); // the get blocked in Redis
    void queue.close();
    await queue.close();
    const clients = (await admin.client("LIST")) as string;
    assert.ok(!clients.includes(name), "the queue's connections are closed once the second close() resolves");
    assert.ok((await getting) instanceof QueueClosedError);
  });
});
