// Red team r32: a RedisQueue and a RedisLink across a Sentinel failover: the master SIGKILLed, the replica promoted, the old master restarted with
// its AOF (acknowledged writes the replica may not have) as a master until the sentinels turn it into a
// replica. All held (no fix needed). A planned failover (SENTINEL FAILOVER): redteam-r32-min-replicas. The
// DurableChannel case (a worker holding messages SIGKILLed, then the master) is r32-sentinel-durable.failover.ts,
// out of npm test: it passes alone but failed once in a loaded fresh-clone CI run (an open finding).
import { after, before, describe, it } from "node:test";
import { QUICK_HEALING, type RedisSentinelGroup, startSentinelGroup } from "../../helpers/redis-sentinel.js";
import { linkAcross, queueAcross } from "./r32-failover-streams.js";

let group: RedisSentinelGroup;
before(async () => {
  // everysec, not always: a replica that fsyncs each write fell seconds behind on a loaded 2-core machine.
  const aof = ["--appendonly", "yes", "--appendfsync", "everysec"];
  group = await startSentinelGroup({ ...QUICK_HEALING, serverArgs: [...(QUICK_HEALING.serverArgs ?? []), ...aof] });
});
after(async () => {
  await group?.stop();
});
const connection = () => ({ sentinels: [...group.sentinelAddresses], name: group.name });

describe("redteam r32: Sentinel failover (master SIGKILLed, restarted with its AOF)", () => {
  it("RedisQueue: pushes and a get() always waiting: every message got once, none failed or rejected", {
    timeout: 60_000,
  }, async (t) => {
    await queueAcross(
      connection,
      () => group.failMaster(),
      (fn) => t.after(fn),
    );
  });

  it("RedisLink (defaults, replyless publishing): every message sent across it is delivered or its loss reported", {
    timeout: 60_000,
  }, async (t) => {
    const { missing, reportedLoss } = await linkAcross(
      connection,
      () => group.failMaster(),
      (fn) => t.after(fn),
    );
    console.log(`# ${missing} missing, loss reported: ${reportedLoss}`);
  });
});
