// A real 6-node Redis Cluster (3 masters, 3 replicas) for the specs and bench: redis-server processes on
// free ports in temp dirs, slots assigned by `redis-cli --cluster create`, stopped by PID.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Redis } from "ioredis";
import { freePort } from "./free-port.js";
import { withClient } from "./redis-probe.js";
import { type RedisServer, startRedis } from "./redis-server.js";

const run = promisify(execFile);

/** A running Cluster. */
export interface RedisCluster {
  /** The six nodes, masters first as created (roles change after a failover). */
  readonly nodes: readonly RedisServer[];
  /** Startup nodes for `connection: { cluster: ... }`. */
  readonly startupNodes: readonly { host: string; port: number }[];
  /** The node that is master of the slot `key` hashes to, now. */
  masterOf(key: string): Promise<RedisServer>;
  /**
   * SIGKILLs `node`, waits until no slot is served by it (its replica was promoted, if it was a master),
   * then starts it again (it rejoins as a replica) and waits until the cluster is healthy. Resolves to
   * the ms from the kill to the promotion. `killed` is called right after the SIGKILL.
   */
  fail(node: RedisServer, killed?: () => void): Promise<number>;
  /** The live node a client named `name` (CLIENT SETNAME) is connected to. */
  nodeWithClient(name: string): Promise<RedisServer>;
  /** Resolves once every slot is served by a master that answers and the cluster says `ok` everywhere alive. */
  waitHealthy(timeout?: number): Promise<void>;
  /** Stops every node and removes their dirs. */
  stop(): Promise<void>;
}

const MISSING_CLI = "redis-cli not found: install Debian's redis-tools package (apt-get install redis-tools); .ci/run does";

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  /** How long (ms) a master must be unreachable before its replica is promoted (cluster-node-timeout, default 1,000). */
  nodeTimeout?: number;
  /** More arguments for every node, on every start (e.g. `--repl-diskless-sync-delay 0`). */
  serverArgs?: readonly string[];
}

/**
 * Options for a Cluster whose replicas sync at once: a master starts a replica's full sync without waiting
 * 5 s (repl-diskless-sync-delay, Redis 7's default, a wait for more replicas to share the sync; each master
 * here has one). The replicas are synced ~5 s sooner after `redis-cli --cluster create`, and a node
 * restarted by fail() is a synced replica ~5 s sooner. Failure detection (cluster-node-timeout) is unchanged.
 */
export const QUICK_SYNC: Readonly<Pick<ClusterOptions, "serverArgs">> = {
  serverArgs: ["--repl-diskless-sync-delay", "0"],
};

/**
 * Starts six cluster-enabled redis-servers and joins them into 3 masters + 3 replicas.
 * `nodeTimeout` (ms) is how long a master must be unreachable before its replica is promoted.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<RedisCluster> {
  const nodeTimeout = options.nodeTimeout ?? 1_000;
  const serverArgs = options.serverArgs ?? [];
  const nodes: RedisServer[] = [];
  try {
    for (let i = 0; i < 6; i++) {
      // The bus port is chosen too: Redis's default (port + 10000) can fall in the kernel's ephemeral
      // range, where an outgoing connection took it once (the node exited: "Address already in use").
      const busPort = await freePort();
      nodes.push(
        await startRedis({
          own: true,
          args: [
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", String(nodeTimeout),
            "--cluster-port", String(busPort),
            ...serverArgs,
          ],
        }),
      );
    }
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
    try {
      await run("redis-cli", ["--cluster", "create", ...addresses, "--cluster-replicas", "1", "--cluster-yes"], { timeout: 30_000 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") throw new Error(MISSING_CLI);
      throw error;
    }
  } catch (error) {
    await Promise.all(nodes.map((node) => node.stop()));
    throw error;
  }
  const cluster: RedisCluster = {
    nodes,
    startupNodes: nodes.map((node) => ({ host: "127.0.0.1", port: node.port })),
    async masterOf(key) {
      const slot = await withNode(nodes, (client) => client.cluster("KEYSLOT", key));
      for (;;) {
        const owner = await withNode(nodes, async (client) => {
          const ranges = await client.cluster("SLOTS");
          const range = ranges.find(([from, to]) => slot >= from && slot <= to);
          return range?.[2]?.[1];
        });
        const node = nodes.find((candidate) => candidate.port === owner && candidate.pid !== undefined);
        if (node !== undefined) return node;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async fail(node, killed) {
      const killedAt = performance.now();
      await node.kill();
      killed?.();
      for (;;) {
        const stillServes = await withNode(nodes, async (client) => {
          const ranges = await client.cluster("SLOTS");
          return ranges.some((range) => range[2]?.[1] === node.port);
        }).catch(() => true);
        if (!stillServes) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const promotion = Math.round(performance.now() - killedAt);
      await node.restart();
      await cluster.waitHealthy();
      return promotion;
    },
    async nodeWithClient(name) {
      for (const node of nodes) {
        if (node.pid === undefined) continue;
        const list = await withClient(node.port, (client) => client.client("LIST")).catch(() => "");
        if (String(list).includes(` name=${name} `)) return node;
      }
      throw new Error(`no cluster node has a client named ${name}`);
    },
    async waitHealthy(timeout = 30_000) {
      const deadline = Date.now() + timeout;
      for (;;) {
        if (await healthy(nodes)) return;
        if (Date.now() > deadline) throw new Error(`redis cluster not healthy within ${timeout} ms`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async stop() {
      await Promise.all(nodes.map((node) => node.stop()));
    },
  };
  try {
    await cluster.waitHealthy();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

// Every live node says cluster_state:ok, and each of the 3 slot ranges has a master with a synced replica.
async function healthy(nodes: readonly RedisServer[]): Promise<boolean> {
  const alive = nodes.filter((node) => node.pid !== undefined);
  for (const node of alive) {
    const ok = await withClient(node.port, async (client) => {
      const info = await client.cluster("INFO");
      if (!info.includes("cluster_state:ok")) return false;
      const replication = await client.info("replication");
      if (replication.includes("role:slave")) return replication.includes("master_link_status:up");
      return true;
    }).catch(() => false);
    if (!ok) return false;
  }
  return true;
}

async function withNode<T>(nodes: readonly RedisServer[], use: (client: Redis) => Promise<T>): Promise<T> {
  let last: unknown;
  for (const node of nodes) {
    if (node.pid === undefined) continue;
    try {
      return await withClient(node.port, use);
    } catch (error) {
      last = error;
    }
  }
  throw last ?? new Error("no cluster node alive");
}

/** The two ends of a slot migration: the master serving `key` and another master, with their node ids. */
export interface ReshardEnds {
  source: RedisServer;
  target: RedisServer;
  sourceId: string;
  targetId: string;
  /** Every master now (a migration's last SETSLOT … NODE goes to each). */
  masters: RedisServer[];
}

/** Finds where a reshard of `key`'s slot would go from and to (the r27 reshard specs). */
export async function reshardEnds(cluster: RedisCluster, key: string): Promise<ReshardEnds> {
  const source = await cluster.masterOf(key);
  const masters: RedisServer[] = [];
  for (const node of cluster.nodes) {
    const role = await withClient(node.port, (c) => c.role()).catch(() => ["none"]);
    if (role[0] === "master") masters.push(node);
  }
  const target = masters.find((node) => node.port !== source.port);
  if (target === undefined) throw new Error(`no master other than ${source.port} to move ${key}'s slot to`);
  const sourceId = (await withClient(source.port, (c) => c.cluster("MYID"))) as string;
  const targetId = (await withClient(target.port, (c) => c.cluster("MYID"))) as string;
  return { source, target, sourceId, targetId, masters };
}
