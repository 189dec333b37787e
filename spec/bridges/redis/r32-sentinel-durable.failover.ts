// OPEN FINDING (r32), not run by `npm test` (its name does not end in .spec.ts): `npm run test:failover`
// runs it, or node --import tsx --test spec/bridges/redis/r32-sentinel-durable.failover.ts
// A DurableChannel with durability { replicas: 1 } across a Sentinel failover (a worker holding messages
// SIGKILLed, then the master SIGKILLed and restarted with its AOF): one outcome (a reply or a timeout notice)
// per acknowledged send. It passes alone (lost 0, in ~6 s after the group is up); in a fresh-clone `.ci/run`
// of r32 (the full suite, 2 cores) it ran as the third failover of one group and 300 of 400 acknowledged
// sends had no outcome within its 20 s wait. Not yet known: lost (a split brain with the restarted old master)
// or late (the outcomes delayed by load). Kept out of the suite until investigated (see the r32 closing note).
import { after, before, it } from "node:test";
import { QUICK_HEALING, type RedisSentinelGroup, startSentinelGroup } from "../../helpers/redis-sentinel.js";
import { durableStreamAcrossFailover } from "./r32-durable-failover.js";

let group: RedisSentinelGroup;
before(async () => {
  const aof = ["--appendonly", "yes", "--appendfsync", "everysec"];
  group = await startSentinelGroup({ ...QUICK_HEALING, serverArgs: [...(QUICK_HEALING.serverArgs ?? []), ...aof] });
});
after(async () => {
  await group?.stop();
});
const connection = () => ({ sentinels: [...group.sentinelAddresses], name: group.name });

it("DurableChannel (durability { replicas: 1 }): a worker holding messages SIGKILLed, then the master: one outcome per acknowledged send", {
  timeout: 60_000,
}, async (t) => {
  await durableStreamAcrossFailover({ connection, killMaster: () => group.failMaster() }, { replicas: 1, timeout: 2_000 }, (fn) =>
    t.after(fn),
  );
});
