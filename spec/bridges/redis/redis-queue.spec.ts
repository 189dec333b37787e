import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { RedisLink } from "../../../bridges/redis/redis-link.js";
import { RedisQueue, type RedisQueueOptions } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import { type BerryError, QueueClosedError, QueueEmptyError, QueueTimeoutError } from "../../../lib/errors.js";
import type { Message } from "../../../lib/message.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { waitFor } from "../../helpers/wait-for.js";
import { runFixture } from "./fixtures/run-fixture.js";

let server: RedisServer;
before(async () => {
  server = await startRedis();
});
after(async () => {
  await server.stop();
});

function queueOn(bus: Bus, prefix: string, options: RedisQueueOptions = {}): RedisQueue {
  return new RedisQueue("job:*", { bus, connection: server.url, prefix, ...options });
}

describe("RedisQueue", () => {
  it("has the Queue interface: get, getNowait (a promise here), qsize, async iteration, close", async () => {
    const prefix = `q-${randomUUID()}:`;
    const bus = new Bus();
    const queue = queueOn(bus, prefix);
    await assert.rejects(queue.getNowait(), QueueEmptyError);
    await assert.rejects(queue.get({ timeout: 50 }), QueueTimeoutError);
    bus.twitter("job:a", 1);
    bus.twitter("job:b", 2);
    bus.twitter("other:c", 3);
    await waitFor(() => queue.stats.pushed === 2, "two pushed");
    assert.equal(await queue.qsize(), 2);
    const first = await queue.getNowait();
    assert.deepEqual([first.id, first.args], ["job:a", [1]]);
    const second = await queue.get({ timeout: 1_000 });
    assert.equal(second.id, "job:b");
    const iterated: number[] = [];
    const consuming = (async () => {
      for await (const message of queue) iterated.push(message.args[0] as number);
    })();
    bus.twitter("job:c", 3);
    bus.twitter("job:d", 4);
    await waitFor(() => iterated.length === 2, "two iterated");
    await queue.close();
    await consuming;
    assert.deepEqual(iterated, [3, 4]);
    await assert.rejects(queue.get(), QueueClosedError);
    bus.close();
  });

  it("rejects a pending get when closed, and leaves queued messages for other consumers", async () => {
    const prefix = `q-${randomUUID()}:`;
    const bus = new Bus();
    const queue = queueOn(bus, prefix);
    const pending = assert.rejects(queue.get(), QueueClosedError);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await queue.close();
    await pending;
    const producer = queueOn(bus, prefix);
    bus.twitter("job:kept", 1);
    await waitFor(() => producer.stats.pushed === 1, "pushed");
    await producer.close();
    const consumer = queueOn(new Bus(), prefix, { feed: false });
    assert.equal((await consumer.get({ timeout: 1_000 })).id, "job:kept");
    await consumer.close();
    bus.close();
  });

  it("gives each message to one of several consumer processes", async () => {
    const prefix = `q-${randomUUID()}:`;
    const bus = new Bus();
    const queue = queueOn(bus, prefix);
    const consumers = [0, 1].map(() => runFixture("queue-consumer.ts", [server.url, prefix, "10"]));
    await Promise.all(consumers.map((consumer) => consumer.line("ready")));
    const sent: string[] = [];
    bus.on("message", (m) => void (m.action !== "stop" && sent.push(m.messageId)));
    for (let i = 0; i < 40; i++) bus.twitter("job:work", i);
    await waitFor(() => consumers.reduce((n, c) => n + c.lines.filter((l) => l.startsWith("got ")).length, 0) === 40, "40 taken", 10_000);
    bus.twitter("job:stop");
    bus.twitter("job:stop");
    assert.deepEqual(await Promise.all(consumers.map((consumer) => consumer.exit())), [0, 0]);
    const got = consumers.map((consumer) => consumer.lines.filter((line) => line.startsWith("got ")).map((line) => line.slice(4)));
    assert.deepEqual([...got.flat()].sort(), [...sent].sort(), "every message taken exactly once");
    assert.ok(got.every((list) => list.length > 0), "both consumers took part");
    await queue.close();
    bus.close();
  });

  it("queues a message once when several linked buses feed the same queue", async () => {
    const prefix = `q-${randomUUID()}:`;
    const a = new Bus();
    const b = new Bus();
    const la = await RedisLink.connect({ bus: a, connection: server.url, prefix: `${prefix}bus:` });
    const lb = await RedisLink.connect({ bus: b, connection: server.url, prefix: `${prefix}bus:` });
    const qa = queueOn(a, prefix);
    const qb = queueOn(b, prefix);
    const seenOnB: Message[] = [];
    b.follow("job:*", (m) => void seenOnB.push(m));
    a.twitter("job:once", 1);
    await waitFor(() => seenOnB.length === 1 && qa.stats.pushed + qb.stats.pushed + qa.stats.duplicates + qb.stats.duplicates === 2, "both fed");
    assert.equal(qa.stats.pushed + qb.stats.pushed, 1);
    assert.equal(await qa.qsize(), 1);
    await Promise.all([qa.close(), qb.close(), la.close(), lb.close()]);
  });

  it("reports and skips a value in the list that is not a valid envelope", async () => {
    const prefix = `q-${randomUUID()}:`;
    const bus = new Bus();
    const errors: BerryError[] = [];
    bus.on("error", (error) => void errors.push(error));
    const queue = queueOn(bus, prefix, { feed: false });
    const raw = new Redis(server.url);
    await raw.rpush(queue.key, "{not json", '{"v":1,"id":"job:x","args":[],"kwargs":{"__proto__":1},"messageId":"m","timestamp":1,"hops":["h"]}');
    await raw.rpush(queue.key, JSON.stringify({ v: 1, id: "job:ok", args: [], kwargs: {}, messageId: "m2", timestamp: 1, hops: ["h"] }));
    assert.equal((await queue.get({ timeout: 1_000 })).id, "job:ok");
    assert.deepEqual(errors.map((error) => error.code), ["INVALID_ENVELOPE", "INVALID_ENVELOPE"]);
    raw.disconnect();
    await queue.close();
  });
});
