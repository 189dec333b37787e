// Red team r32 (run-time subscriptions, Cluster with `sharded: true`): followers that come and go while the
// whole Cluster is down (every node killed, then started again on its dir: the same Cluster). Before r32 a
// follower added during the outage was never subscribed (SSUBSCRIBE waited for the client's `ready`, which
// rejected at its first connection error: its messages were missed for good), and a follower that left
// stayed subscribed at Redis for good (SUNSUBSCRIBE was skipped while the client was not ready; ioredis kept
// the channel in its list and subscribed it again on reconnecting). After reconnecting, what Redis has
// subscribed for the link is exactly `link.shardedChannels`.
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

// Every sharded channel of `prefix` some node has a subscriber for (PUBSUB SHARDCHANNELS on each node).
async function channelsAtRedis(prefix: string): Promise<string[]> {
  const found = new Set<string>();
  for (const node of cluster.nodes) {
    const client = new Redis(node.port, { lazyConnect: true, retryStrategy: () => null });
    try {
      for (const channel of (await client.pubsub("SHARDCHANNELS", `${prefix}*`)) as string[]) found.add(channel);
    } finally {
      client.disconnect();
    }
  }
  return [...found].sort();
}

it("red team: followers added and removed while the whole Cluster is down are subscribed and unsubscribed once it is back", {
  timeout: 60_000,
}, async (t) => {
  const prefix = `r32-shard-outage-${process.pid}:`;
  const connection = { cluster: [...cluster.startupNodes] };
  const bus = new Bus({ id: "r32-outage-worker" });
  bus.on("error", () => {}); // the outage is reported (REDIS_MESSAGES_MAY_BE_LOST)
  const link = await RedisLink.connect({ bus, connection, prefix, sharded: true, importFilters: "followers" });
  t.after(() => link.close().then(() => undefined));
  const leaving = bus.follow("gone:x", () => {});
  bus.follow("kept:x", () => {});
  await link.subscriptionsApplied();
  assert.ok(link.shardedChannels.includes(`${prefix}gone:x`));

  await Promise.all(cluster.nodes.map((node) => node.kill()));
  await sleep(300);
  leaving();
  const got: number[] = [];
  bus.follow("new:x", (m) => void got.push(m.args[0] as number));
  await sleep(300);
  await Promise.all(cluster.nodes.map((node) => node.restart()));
  await cluster.waitHealthy(20_000);
  await link.subscriptionsApplied();

  const mine = [...link.shardedChannels, `${prefix}berrymq-wildcards`].sort();
  assert.ok(mine.includes(`${prefix}new:x`) && !mine.includes(`${prefix}gone:x`));
  // ioredis subscribes its channels again a moment after the Cluster is ready: wait until Redis settles.
  let atRedis: string[] = [];
  const deadline = Date.now() + 8_000;
  do {
    await sleep(200);
    atRedis = await channelsAtRedis(prefix);
  } while (JSON.stringify(atRedis) !== JSON.stringify(mine) && Date.now() < deadline);
  assert.deepEqual(atRedis, mine, "Redis has subscribed exactly the link's channels");

  const sender = await RedisLink.connect({ bus: new Bus(), connection, prefix, sharded: true, importFilters: [] });
  t.after(() => sender.close().then(() => undefined));
  sender.bus.twitter("new:x", 1);
  await waitFor(() => got.length === 1, "new:x, followed during the outage", 5_000);
  assert.deepEqual(got, [1]);
});
