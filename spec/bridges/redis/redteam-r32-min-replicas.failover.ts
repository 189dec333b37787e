// Red team r32: a planned Sentinel failover (SENTINEL FAILOVER) with the servers fenced by
// `min-replicas-to-write 1`.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import { withClient } from "../../helpers/redis-probe.js";
import { sleep } from "../../helpers/wait-for.js";
import { fencedGroup, WINDOW } from "./r32-fenced-group.js";

const { connection, masterPort, plannedFailover } = fencedGroup();

describe("redteam r32: planned sentinel failover, min-replicas-to-write 1", () => {
  it("RedisQueue: pushes and a get() always waiting", { timeout: 40_000 }, async (t) => {
    const prefix = `pq-${randomUUID()}:`;
    const producerBus = new Bus({ id: "producer" });
    const consumerBus = new Bus({ id: "consumer" });
    const reports: string[] = [];
    for (const bus of [producerBus, consumerBus]) bus.on("error", (e) => reports.push(`bus ${e.code}: ${e.message}`));
    const producer = new RedisQueue("job:*", { bus: producerBus, connection: connection(), prefix });
    const consumer = new RedisQueue("job:*", { bus: consumerBus, connection: connection(), prefix, feed: false });
    for (const queue of [producer, consumer])
      queue.on("error", (e) => {
        if (e.code !== "REDIS_CONNECTION") reports.push(`${e.code}: ${e.message}`);
      });
    let consuming = true;
    t.after(async () => {
      consuming = false;
      await producer.close().catch(() => undefined);
      await consumer.close().catch(() => undefined);
    });
    const got = new Map<number, number>();
    const rejections: string[] = [];
    const loop = (async () => {
      while (consuming) {
        try {
          const n = (await consumer.get({ timeout: 300 })).args[0] as number;
          got.set(n, (got.get(n) ?? 0) + 1);
        } catch (error) {
          if ((error as { code?: string }).code !== "QUEUE_TIMEOUT" && consuming) rejections.push(String(error));
        }
      }
    })();
    let sent = 0;
    let N = Number.POSITIVE_INFINITY;
    for (let i = 0; i < N; i++) {
      producerBus.twitter("job:run", i);
      sent = i + 1;
      if (i === 300) void plannedFailover().then(() => { N = sent + 100; }, () => { N = 0; });
      if (i % 10 === 9) await sleep(5);
    }
    const deadline = Date.now() + 5_000;
    while (got.size < N && Date.now() < deadline) await sleep(50);
    consuming = false;
    await loop;
    const missing = [...Array(N).keys()].filter((n) => !got.has(n));
    const twice = [...got].filter(([, times]) => times > 1).length;
    console.log(`# queue: N ${N} got ${got.size} twice ${twice} stats ${JSON.stringify(producer.stats)} rejections ${rejections.length} ${rejections.slice(0, 1)} reports ${reports.length} ${reports.slice(0, 1).join("").slice(0, 200)}`);
    assert.deepEqual(rejections.slice(0, 3), [], "get()s rejected (3 first)");
    assert.equal(producer.stats.failed, 0, "pushes failed");
    // The fence leaves Redis's own window (the replica promoted, its link to the old master not yet
    // closed): the writes there are taken back, a few at most. Before r32 every write of the failover
    // failed (3,870 of 4,770 pushes), get() rejected, and each hand-over refused was given again: 4,000 reports.
    assert.ok(missing.length <= WINDOW, `${missing.length} messages pushed and never got`);
    assert.ok(twice <= WINDOW, `${twice} messages got twice`);
    assert.deepEqual(reports.slice(0, 3), [], "reports other than connection losses");
  });

  it("DurableChannel sends (no durability)", { timeout: 40_000 }, async (t) => {
    const prefix = `pd-${randomUUID()}:{pd}:`;
    const sender = await DurableChannel.open("pd-sender", { connection: connection(), prefix });
    const errors: string[] = [];
    sender.on("error", (e) => errors.push(`${e.code}: ${e.message}`));
    t.after(async () => {
      await sender.end().catch(() => undefined);
    });
    const rejected: string[] = [];
    const acknowledged: string[] = [];
    let sent = 0;
    let N = Number.POSITIVE_INFINITY;
    const inFlight = new Set<Promise<void>>();
    for (let i = 0; i < N; i++) {
      const p = sender.send({ i }, { to: "pd-worker" }).then((s) => void acknowledged.push(s.id), (e: unknown) => void rejected.push(String(e))).finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= 20) await Promise.race(inFlight);
      sent = i + 1;
      if (i === 100) void plannedFailover().then(() => { N = sent + 100; }, () => { N = 0; });
      if (i % 10 === 9) await sleep(5);
    }
    await Promise.all(inFlight);
    const master = await masterPort();
    const queued = await withClient(master, (c) => c.lrange(`${prefix}in:pd-worker`, 0, -1));
    const missing = acknowledged.filter((id) => !queued.includes(id));
    console.log(`# durable: N ${N} acknowledged ${acknowledged.length} rejected ${rejected.length} missing ${missing.length} ${rejected.slice(0, 1).join(" | ").slice(0, 300)}`);
    assert.deepEqual(rejected, [], "sends rejected");
    assert.equal(acknowledged.length, N);
    assert.ok(missing.length <= WINDOW, `${missing.length} acknowledged sends not in the inbox (see the queue's case)`);
  });
});
