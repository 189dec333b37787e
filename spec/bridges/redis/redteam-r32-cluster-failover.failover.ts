// Red team r32: a RedisQueue, a RedisLink and a DurableChannel (a worker holding messages SIGKILLed too)
// across a Cluster failover, the master SIGKILLed and its replica promoted by the cluster. All held (no
// fix needed). A planned failover (CLUSTER FAILOVER): redteam-r32-cluster-planned.spec.ts.
import { after, before, describe, it } from "node:test";
import { QUICK_SYNC, type RedisCluster, startCluster } from "../../helpers/redis-cluster.js";
import { durableStreamAcrossFailover } from "./r32-durable-failover.js";
import { linkAcross, queueAcross } from "./r32-failover-streams.js";

let cluster: RedisCluster;
before(async () => {
  cluster = await startCluster(QUICK_SYNC);
});
after(async () => {
  await cluster?.stop();
});
const connection = () => ({ cluster: [...cluster.startupNodes] });

describe("redteam r32: Cluster failover (master SIGKILLed)", () => {
  it("RedisQueue: pushes and a get() always waiting: every message got once, none failed or rejected", { timeout: 60_000 }, async (t) => {
    await queueAcross(connection, async (key) => cluster.fail(await cluster.masterOf(key)), (fn) => t.after(fn));
  });

  it("RedisLink (defaults): every message sent while the receiver's node fails over is delivered or its loss reported", { timeout: 60_000 }, async (t) => {
    const { missing, reportedLoss } = await linkAcross(
      connection,
      async (receiver) => cluster.fail(await cluster.nodeWithClient(`berrymq-link-sub:${receiver.id}`)),
      (fn) => t.after(fn),
    );
    console.log(`# ${missing} missing, loss reported: ${reportedLoss}`);
  });

  it("DurableChannel (durability { replicas: 1 }): a worker holding messages SIGKILLed, then the prefix's master: one outcome per acknowledged send", { timeout: 60_000 }, async (t) => {
    await durableStreamAcrossFailover(
      { connection, killMaster: async (key) => cluster.fail(await cluster.masterOf(key)) },
      { replicas: 1, timeout: 2_000 },
      (fn) => t.after(fn),
    );
  });
});
