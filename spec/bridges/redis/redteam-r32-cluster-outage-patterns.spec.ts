// Red team r32 (run-time subscriptions, PSUBSCRIBE on a Cluster): filters that change while the whole
// Cluster is down. The link's pattern subscriber is a connection to one node, moved to another when it
// ends; a PSUBSCRIBE or PUNSUBSCRIBE sent on the ended connection rejected, and the link's change broke off
// halfway: a pattern given up during the outage was never PUNSUBSCRIBEd from the subscriber's set, the move
// subscribed it again on the next node, and it stayed subscribed for good (Redis: 21 patterns, the link: 19);
// the change was reported as an error ("Connection is closed."). After reconnecting, what Redis has
// subscribed for the link is exactly `link.patterns`.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { Redis } from "ioredis";
import { RedisLink } from "../../../bridges/redis/redis-link.js";
import { Bus } from "../../../lib/bus.js";
import { QUICK_SYNC, type RedisCluster, startCluster } from "../../helpers/redis-cluster.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

let cluster: RedisCluster;
before(async () => {
  cluster = await startCluster(QUICK_SYNC);
});
after(async () => {
  await cluster?.stop();
});

// How many patterns the connections named `name` have subscribed, over every node (CLIENT LIST psub=).
async function patternsAtRedis(name: string): Promise<number> {
  let count = 0;
  for (const node of cluster.nodes) {
    const client = new Redis(node.port, { lazyConnect: true, retryStrategy: () => null });
    try {
      for (const line of String(await client.client("LIST")).split("\n")) {
        if (line.includes(`name=${name} `)) count += Number(/\bpsub=(\d+)/.exec(line)?.[1] ?? 0);
      }
    } finally {
      client.disconnect();
    }
  }
  return count;
}

it("red team: wildcard followers added and removed while the whole Cluster is down leave Redis with exactly link.patterns", {
  timeout: 60_000,
}, async (t) => {
  const prefix = `r32-cluster-patterns-${process.pid}:`;
  const connection = { cluster: [...cluster.startupNodes] };
  const bus = new Bus({ id: "r32-patterns-worker" });
  const reported: string[] = [];
  bus.on("error", (error) => void reported.push(error.code));
  const link = await RedisLink.connect({ bus, connection, prefix, importFilters: "followers" });
  t.after(() => link.close().then(() => undefined));
  const leaving = bus.follow("gone:*", () => {});
  bus.follow("kept:x", () => {});
  await link.subscriptionsApplied();
  assert.ok(link.patterns.includes(`${prefix}gone:*`));

  await Promise.all(cluster.nodes.map((node) => node.kill()));
  await sleep(300);
  leaving();
  const got: number[] = [];
  bus.follow("new:*", (m) => void got.push(m.args[0] as number));
  await sleep(300);
  await Promise.all(cluster.nodes.map((node) => node.restart()));
  await cluster.waitHealthy(20_000);
  await link.subscriptionsApplied();
  assert.ok(link.patterns.includes(`${prefix}new:*`) && !link.patterns.includes(`${prefix}gone:*`));

  // The subscriber moves to a node a moment after the Cluster is back: wait until Redis settles.
  const name = "berrymq-link-sub:r32-patterns-worker";
  let atRedis = 0;
  const deadline = Date.now() + 10_000;
  do {
    await sleep(200);
    atRedis = await patternsAtRedis(name);
  } while (atRedis !== link.patterns.length && Date.now() < deadline);
  assert.equal(atRedis, link.patterns.length, "Redis has subscribed as many patterns as link.patterns");
  assert.deepEqual(
    reported.filter((code) => code !== "REDIS_MESSAGES_MAY_BE_LOST"),
    [],
    "nothing reported but the outage",
  );

  const sender = await RedisLink.connect({ bus: new Bus(), connection, prefix, importFilters: [] });
  t.after(() => sender.close().then(() => undefined));
  sender.bus.twitter("new:x", 1);
  await waitFor(() => got.length === 1, "new:x, followed during the outage", 5_000);
});
