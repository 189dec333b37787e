// Red team (round 27, chaos): failed before the fix in most runs (4 of 5, 1-3 messages lost; a run
// where no kill lands on a pop in flight passed). A RedisQueue consumer whose get() is waiting while
// redis-server (AOF, appendfsync always) is killed -9 and restarted loses the message its pop had taken:
// Redis ran the pop and wrote it to the AOF, its answer died with the connection, and the pop sent again
// on the new connection takes the next message. The lost one was counted in `stats.pushed`, is never
// returned by any get(), counted nowhere and reported by nobody (chaos seed 2: messages 4521 and 5893 of
// 10,000, each at a kill, between a `got 4520` and a `got 4522`). The README's "hand-over is at most
// once" names a consumer that dies after get(); here both processes live. Where: bridges/redis/redis-queue.ts
// (the blocking pop of get()): a pop that is resent after a lost answer cannot tell it had taken an
// element (DurableChannel's TAKE keeps its token and answers a resent take with the same messages).
// Fixed (r27): each take moves the message into the instance's holding list (BLMOVE), whence it leaves
// once handed over; the next get() after a lost answer returns what the holding list still has.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { hashSlot } from "../../../bridges/redis/hash-slot.js";
import { holdingKey, RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import { withClient } from "../../helpers/redis-probe.js";
import { startRedis } from "../../helpers/redis-server.js";
import { sleep } from "../../helpers/wait-for.js";

describe("redteam r27 chaos: a RedisQueue pop in flight when Redis is killed -9", () => {
  const closers: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  });

  it("every message pushed is got (none lost), across twelve kills of an AOF redis-server", { timeout: 120_000 }, async () => {
    const redis = await startRedis({ own: true, aof: true });
    closers.push(() => redis.stop());
    const producerBus = new Bus({ id: "producer" });
    const consumerBus = new Bus({ id: "consumer" });
    for (const bus of [producerBus, consumerBus]) bus.on("error", () => {});
    const producer = new RedisQueue("job:*", { bus: producerBus, connection: redis.url });
    const consumer = new RedisQueue("job:*", { bus: consumerBus, connection: redis.url, feed: false });
    const reported: string[] = [];
    producer.on("error", (error) => {
      if (error.code !== "REDIS_CONNECTION") reported.push(`${error.code}: ${error.message}`);
    });
    consumer.on("error", (error) => {
      if (error.code !== "REDIS_CONNECTION") reported.push(`${error.code}: ${error.message}`);
    });
    closers.push(
      () => producer.close(),
      () => consumer.close(),
    );

    const got = new Map<number, number>();
    let consuming = true;
    const consuming$ = (async () => {
      while (consuming) {
        try {
          const message = await consumer.get({ timeout: 300 });
          const n = message.args[0] as number;
          got.set(n, (got.get(n) ?? 0) + 1);
        } catch {
          // a get() that timed out, or was cut by the kill: the loop asks again
        }
      }
    })();

    const N = 4_000;
    const kills = new Set(Array.from({ length: 12 }, (_, k) => 300 + k * 300));
    for (let i = 0; i < N; i++) {
      producerBus.twitter("job:run", i);
      if (kills.has(i)) {
        await redis.kill();
        await sleep(150);
        await redis.restart();
      }
      if (i % 20 === 19) await sleep(5);
    }
    // Until all came, or nothing more came for 10 s (a loaded machine drains slowly after the kills: that
    // is not what is tested; a message lost never comes).
    let seen = got.size;
    let still = Date.now();
    while (got.size < N && Date.now() - still < 10_000) {
      await sleep(50);
      if (got.size !== seen) {
        seen = got.size;
        still = Date.now();
      }
    }
    consuming = false;
    await consuming$;

    const missing: number[] = [];
    for (let i = 0; i < N; i++) if (!got.has(i)) missing.push(i);
    assert.deepEqual(
      { missing, reported, pushedOrFailed: producer.stats.pushed + producer.stats.duplicates + producer.stats.failed },
      { missing: [], reported: [], pushedOrFailed: N },
      "each message got (none lost silently; a failure would be reported and counted)",
    );
  });
});

describe("r27: a RedisQueue's holding lists", () => {
  it("share the queue key's Cluster slot, whatever the name (one starting with '}' too)", () => {
    for (const key of ["berrymq:queue:{job:*}", "berrymq:queue:{}x}", "app:{orders}:queue:{a}", "queue:{{}", "q:{}{}"]) {
      const holding = holdingKey(key, "id-1");
      assert.equal(hashSlot(holding), hashSlot(key), `${holding} in the slot of ${key}`);
      assert.ok(holding.includes(`${key}:taking:id-1`), holding);
    }
    assert.equal(holdingKey("berrymq:queue:{job:*}", "id-1"), "berrymq:queue:{job:*}:taking:id-1");
  });

  it("are gone once what they took is handed over, and close() leaves none", { timeout: 30_000 }, async () => {
    const redis = await startRedis({ own: true });
    try {
      const bus = new Bus();
      const queue = new RedisQueue("job:*", { bus, connection: redis.url, name: "}odd" });
      for (let i = 0; i < 20; i++) bus.twitter("job:run", i);
      const got: unknown[] = [];
      for (let i = 0; i < 10; i++) got.push((await queue.get({ timeout: 2_000 })).args[0]);
      for (let i = 0; i < 10; i++) got.push((await queue.getNowait()).args[0]);
      assert.deepEqual(
        got,
        Array.from({ length: 20 }, (_, i) => i),
      );
      await queue.get({ timeout: 50 }).catch(() => undefined);
      await queue.close();
      const keys = await withClient(redis.port, (client) => client.keys("*taking*"));
      assert.deepEqual(keys, []);
    } finally {
      await redis.stop();
    }
  });
});
