// Red team r32: a RedisQueue across a planned Cluster failover (CLUSTER FAILOVER: the master made a
// replica) with a get() blocked on the master and pushes on their way. Held (no fix needed).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import { withClient } from "../../helpers/redis-probe.js";
import { QUICK_SYNC, type RedisCluster, startCluster } from "../../helpers/redis-cluster.js";
import type { RedisServer } from "../../helpers/redis-server.js";
import { sleep } from "../../helpers/wait-for.js";

let cluster: RedisCluster;
before(async () => {
  cluster = await startCluster(QUICK_SYNC);
});
after(async () => {
  await cluster?.stop();
});
const connection = () => ({ cluster: [...cluster.startupNodes] });

/** The port of a replica of `master` whose replication link is up (waits up to 30 s for one). */
async function syncedReplicaOf(master: RedisServer): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ports = await withClient(master.port, async (client) => {
      const id = String(await client.cluster("MYID"));
      const nodes = String(await client.cluster("NODES")).split("\n");
      return nodes.filter((line) => line.split(" ")[3] === id).map((line) => Number(/:(\d+)@/.exec(line)?.[1]));
    }).catch(() => []);
    for (const port of ports) {
      const info = await withClient(port, (replica) => replica.info("replication")).catch(() => "");
      if (info.includes("master_link_status:up")) return port;
    }
    if (Date.now() > deadline) throw new Error(`no replica of 127.0.0.1:${master.port} synced within 30 s`);
    await sleep(100);
  }
}

describe("redteam r32: planned Cluster failover (CLUSTER FAILOVER)", () => {
  it("RedisQueue: a get() blocked on the master and 200 pushes on their way: none rejected, failed or lost", { timeout: 60_000 }, async (t) => {
    const prefix = `r32pq-${randomUUID()}:`;
    const producerBus = new Bus({ id: "producer" });
    const consumerBus = new Bus({ id: "consumer" });
    const reports: string[] = [];
    for (const bus of [producerBus, consumerBus]) bus.on("error", (e) => reports.push(`bus ${e.code}: ${e.message}`));
    const producer = new RedisQueue("job:*", { bus: producerBus, connection: connection(), prefix });
    const consumer = new RedisQueue("job:*", { bus: consumerBus, connection: connection(), prefix, feed: false });
    for (const queue of [producer, consumer]) queue.on("error", (e) => reports.push(`${e.code}: ${e.message}`));
    t.after(async () => {
      await producer.close().catch(() => undefined);
      await consumer.close().catch(() => undefined);
    });
    const master = await cluster.masterOf(producer.key);
    const replica = await syncedReplicaOf(master);
    const pending = consumer.get({ timeout: 20_000 });
    pending.catch(() => {});
    const blocked = async (): Promise<boolean> =>
      withClient(master.port, async (client) => /name=berrymq-queue-block:\S+ [^\n]*cmd=blmove/.test(String(await client.client("LIST"))));
    while (!(await blocked())) await sleep(50);
    const failover = withClient(replica, (client) => client.cluster("FAILOVER"));
    for (let i = 0; i < 200; i++) {
      producerBus.twitter("job:run", i);
      if (i % 10 === 9) await sleep(2);
    }
    await failover;
    const got: number[] = [(await pending).args[0] as number];
    for (;;) {
      const next = await consumer.get({ timeout: 2_000 }).catch((error: { code?: string }) => {
        if (error.code === "QUEUE_TIMEOUT") return undefined;
        throw error;
      });
      if (next === undefined) break;
      got.push(next.args[0] as number);
    }
    assert.deepEqual([...got].sort((x, y) => x - y), [...Array(200).keys()]);
    assert.deepEqual(reports, []);
    assert.equal(producer.stats.failed, 0);
    await cluster.waitHealthy();
  });
});
