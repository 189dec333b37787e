// A real Sentinel group for the specs and bench: 1 master, 1 replica, 3 sentinels, each a redis-server
// process (`--sentinel` for the sentinels) on a free port in a temp dir, stopped by PID.
import { withClient } from "./redis-probe.js";
import { type RedisServer, startRedis } from "./redis-server.js";

/** A running Sentinel group. */
export interface RedisSentinelGroup {
  /** The master group's name (`mymaster`). */
  readonly name: string;
  /** The two data nodes (master first as started; roles change after a failover). */
  readonly servers: readonly RedisServer[];
  readonly sentinels: readonly RedisServer[];
  /** Sentinel addresses for `connection: { sentinels, name }`. */
  readonly sentinelAddresses: readonly { host: string; port: number }[];
  /** The data node the sentinels name as master now. */
  master(): Promise<RedisServer>;
  /**
   * SIGKILLs the master, waits until the sentinels promoted the replica, starts the killed one again (it
   * rejoins as a replica) and waits until the group is healthy. Resolves to the ms from kill to promotion.
   */
  failMaster(): Promise<number>;
  /** Resolves once the sentinels agree on a live master whose replica is in sync. */
  waitHealthy(timeout?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Options of {@link startSentinelGroup}. */
export interface SentinelGroupOptions {
  /** How long (ms) the master must be unreachable before the sentinels fail over (default 1,000). */
  downAfter?: number;
  /**
   * Sentinel's internal periods, set on each sentinel (`SENTINEL DEBUG <name> <ms> ...`, Redis 7): e.g.
   * `publish-period` (hello messages, 2,000 by default; a sentinel waits 4 of them before turning a
   * restarted old master into a replica) or `info-period` (INFO to replicas, 10,000).
   */
  debug?: Readonly<Record<string, number>>;
  /** More arguments for both data nodes, on every start (e.g. `--repl-diskless-sync-delay 0`). */
  serverArgs?: readonly string[];
}

/**
 * Options for a group that heals in seconds: Sentinel's own periods shorter than its defaults, hello
 * messages every 500 ms (2,000: a sentinel turns a restarted old master into a replica 4 of them after it
 * reported itself a master, 2 s instead of 8 s), INFO to replicas every second (10,000), is-master-down
 * asks every 300 ms (1,000), a TILT (entered by a sentinel that did not run for over 2 s, the default
 * tilt-trigger, kept) lasting 5 s (30,000); and data nodes that sync a replica at once (the old master,
 * made a replica, waited 5 s, repl-diskless-sync-delay, for more replicas to share its full sync). What
 * the sentinels decide is unchanged: down-after, quorum and failover-timeout are the group's own.
 */
export const QUICK_HEALING: Readonly<Pick<SentinelGroupOptions, "debug" | "serverArgs">> = {
  debug: { "publish-period": 500, "info-period": 1_000, "ask-period": 300, "tilt-period": 5_000 },
  serverArgs: ["--repl-diskless-sync-delay", "0"],
};

/**
 * Sentinel's PING period for a group whose master is down after `downAfter` ms: half of it, at most
 * Sentinel's default 1,000 (`SENTINEL DEBUG ping-period`). At +switch-master a sentinel resets the master
 * it monitors to the promoted replica's address but keeps its link, whose next connection waits out the
 * ping period since the last attempt (made to the dead master) and whose unanswered-PING clock restarts at
 * the reset: with down-after 1,000 equal to that period, a sentinel could connect to the promoted master
 * only ~1,000 ms after the reset, and flagged it down then, before its first PONG (and a reset master may
 * be failed over again at once). Measured (sentinel.spec on QUICK_HEALING, 6 failovers, r27): 3 saw the
 * promoted master +sdown/+odown 1.03-1.07 s after +switch-master and a second failover begin (epoch 2);
 * 2 found no replica to promote (the restarted one flagged down too), 1 promoted the restarted old master
 * while it was an empty replica (waiting out repl-diskless-sync-delay), and made the promoted master its
 * replica 3 s later, which wiped its data: a durable channel reconnected there reports REDIS_DATA_LOST
 * (CI: 7.3 s after the kill), a subscriber there a second closed connection. With half of down-after: no
 * +sdown of a promoted master in 16 failovers.
 */
function pingPeriod(downAfter: number): number {
  return Math.max(100, Math.min(1_000, Math.floor(downAfter / 2)));
}

/** Starts a master, its replica and three sentinels (quorum 2). */
export async function startSentinelGroup(options: SentinelGroupOptions = {}): Promise<RedisSentinelGroup> {
  const name = "mymaster";
  const downAfter = options.downAfter ?? 1_000;
  const periods = { "ping-period": pingPeriod(downAfter), ...options.debug };
  const debug = Object.entries(periods).flatMap(([key, value]) => [key, String(value)]);
  const serverArgs = options.serverArgs ?? [];
  const started: RedisServer[] = [];
  try {
    const master = await startRedis({ own: true, args: serverArgs });
    started.push(master);
    const replica = await startRedis({ own: true, args: [...serverArgs, "--replicaof", "127.0.0.1", String(master.port)] });
    started.push(replica);
    const sentinels: RedisServer[] = [];
    for (let i = 0; i < 3; i++) {
      const config = [
        `sentinel monitor ${name} 127.0.0.1 ${master.port} 2`,
        `sentinel down-after-milliseconds ${name} ${downAfter}`,
        `sentinel failover-timeout ${name} 10000`,
        `sentinel parallel-syncs ${name} 1`,
        "",
      ].join("\n");
      const sentinel = await startRedis({ own: true, sentinelConfig: config });
      started.push(sentinel);
      sentinels.push(sentinel);
      await withClient(sentinel.port, (client) => client.call("SENTINEL", "DEBUG", ...debug));
    }
    const servers = [master, replica];
    const group: RedisSentinelGroup = {
      name,
      servers,
      sentinels,
      sentinelAddresses: sentinels.map((sentinel) => ({ host: "127.0.0.1", port: sentinel.port })),
      async master() {
        for (;;) {
          for (const sentinel of sentinels) {
            if (sentinel.pid === undefined) continue;
            const port = await withClient(sentinel.port, async (client) => {
              const address = (await client.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)) as [string, string] | null;
              return address === null ? undefined : Number(address[1]);
            }).catch(() => undefined);
            const server = servers.find((candidate) => candidate.port === port && candidate.pid !== undefined);
            if (server !== undefined) return server;
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      },
      async failMaster() {
        const master = await group.master();
        const killedAt = performance.now();
        await master.kill();
        const promoted = await group.master(); // names a live server: the replica, promoted
        const promotion = Math.round(performance.now() - killedAt);
        await master.restart();
        await group.waitHealthy();
        // A second failover (the promoted master taken for down) would have promoted the restarted one.
        const now = await group.master();
        if (now.port !== promoted.port) throw new Error(`the sentinels failed over again, from ${promoted.port} to ${now.port}`);
        return promotion;
      },
      async waitHealthy(timeout = 30_000) {
        const deadline = Date.now() + timeout;
        for (;;) {
          if (await healthy(group)) return;
          if (Date.now() > deadline) throw new Error(`sentinel group not healthy within ${timeout} ms`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      },
      async stop() {
        await Promise.all(started.map((server) => server.stop()));
      },
    };
    await group.waitHealthy();
    return group;
  } catch (error) {
    await Promise.all(started.map((server) => server.stop()));
    throw error;
  }
}

// Every sentinel names the same live master, which has a connected replica in sync, and sees 2 other sentinels.
async function healthy(group: RedisSentinelGroup): Promise<boolean> {
  const answers = await Promise.all(
    group.sentinels.map((sentinel) =>
      withClient(sentinel.port, async (client) => {
        const fields = (await client.call("SENTINEL", "MASTER", group.name)) as string[];
        const info = new Map<string, string>();
        for (let i = 0; i + 1 < fields.length; i += 2) info.set(String(fields[i]), String(fields[i + 1]));
        if (info.get("flags") !== "master" || info.get("num-other-sentinels") !== "2" || info.get("num-slaves") === "0") return undefined;
        return Number(info.get("port"));
      }).catch(() => undefined),
    ),
  );
  const port = answers[0];
  if (port === undefined || answers.some((answer) => answer !== port)) return false;
  const master = group.servers.find((server) => server.port === port && server.pid !== undefined);
  if (master === undefined) return false;
  return withClient(master.port, async (client) => {
    const replication = await client.info("replication");
    return /connected_slaves:[1-9]/.test(replication) && /slave0:.*state=online/.test(replication);
  }).catch(() => false);
}
