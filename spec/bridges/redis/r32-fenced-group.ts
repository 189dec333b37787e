// Red team r32: a Sentinel group whose data nodes are fenced by `min-replicas-to-write 1`, started once per
// spec file, and a planned failover of it (SENTINEL FAILOVER), shared by the redteam-r32-min-replicas specs.
import { after, before } from "node:test";
import { withClient } from "../../helpers/redis-probe.js";
import { QUICK_HEALING, type RedisSentinelGroup, startSentinelGroup } from "../../helpers/redis-sentinel.js";
import { sleep } from "../../helpers/wait-for.js";

/** At most this many writes taken back by Redis's own window (what was on its way when the replica was promoted). */
export const WINDOW = 40;

/** Starts the group before the file's tests, stops it after; returns its connection option. */
export function fencedGroup(): {
  connection: () => { sentinels: { host: string; port: number }[]; name: string };
  masterPort: () => Promise<number>;
  plannedFailover: () => Promise<void>;
} {
  let group: RedisSentinelGroup | undefined;
  before(async () => {
    const fence = ["--min-replicas-to-write", "1", "--min-replicas-max-lag", "10"];
    group = await startSentinelGroup({ ...QUICK_HEALING, serverArgs: [...(QUICK_HEALING.serverArgs ?? []), ...fence] });
  });
  after(async () => {
    await group?.stop();
  });
  const started = (): RedisSentinelGroup => {
    if (group === undefined) throw new Error("fencedGroup: use it inside a test");
    return group;
  };
  return {
    connection: () => ({ sentinels: [...started().sentinelAddresses], name: started().name }),
    masterPort: async () => (await started().master()).port,
    /** SENTINEL FAILOVER, then until the sentinels name another master and the group is healthy again. */
    async plannedFailover() {
      const group = started();
      const before = await group.master();
      const sentinel = group.sentinels[0];
      if (sentinel === undefined) throw new Error("no sentinel");
      // Refused (NOGOODSLAVE, INPROGRESS) while an earlier failover settles: asked again, 15 s at most.
      const deadline = Date.now() + 15_000;
      for (;;) {
        const refused = await withClient(sentinel.port, (c) => c.call("SENTINEL", "FAILOVER", group.name)).then(
          () => undefined,
          (e: unknown) => String(e),
        );
        if (refused === undefined) break;
        if (Date.now() > deadline) throw new Error(`SENTINEL FAILOVER refused: ${refused}`);
        await sleep(200);
      }
      while ((await group.master()).port === before.port) await sleep(50);
      await group.waitHealthy();
    },
  };
}
