// `npm run bench -- redis-cluster-baseline`: issue 9's sharded pub/sub target measured as written, "≥ 2×
// today's Cluster throughput for concrete-name filters", where "today" is the day the issue was filed:
// the RedisLink of commit dfa1e44 (2026-11-23, PUBLISH/PSUBSCRIBE, the only mode it had; a Cluster was
// given to it as a hand-built ioredis `Cluster` client, which it duplicated), against this tree's RedisLink
// with `sharded: true` (SPUBLISH/SSUBSCRIBE), and, for context, this tree's `sharded: false` (PUBLISH).
//
// - The baseline is taken from git (`git archive`, its package.json, bridges/ and lib/) into a temp dir
//   that borrows this repo's node_modules (the same ioredis 6.0.0 as then), and imported by dynamic
//   import() of its .ts files (tsx runs them); its own Bus goes with its own RedisLink. The temp dir is
//   removed at the end, on failure and on SIGINT/SIGTERM too. Without that commit in the clone (a shallow
//   clone, a tarball) the bench says why and exits 0 with no figure.
// - One 6-node Cluster (spec/helpers/redis-cluster.ts) serves all three. Per workload (bench/redis.ts's
//   Cluster link workloads) the three pairs of links stay open, and rounds alternate between them, the
//   order rotating each time, after a warm-up round each; each mode's figure is its median.
// - Per round: messages/s, CPU per message of this process (process.cpuUsage; both links of a pair live
//   here) and of the six nodes (INFO cpu), and the PUBLISH / SPUBLISH calls the nodes counted
//   (INFO commandstats), which shows each mode sent what it claims. Every message is counted: a round
//   ends when all arrived (or fails after ROUND_TIMEOUT), and the links' counters must agree at the end.
// BENCH_BASELINE_ROUNDS sets the measured rounds per mode (default 5).
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { Cluster } from "ioredis";
import type { LinkStats } from "../bridges/link.js";
import type { RedisConnection } from "../bridges/redis/connection.js";
import { RedisLink } from "../bridges/redis/redis-link.js";
import { Bus } from "../lib/bus.js";
import { type RedisCluster, startCluster } from "../spec/helpers/redis-cluster.js";
import { withClient } from "../spec/helpers/redis-probe.js";
import { formatRate, machine, median, pacedRound, printTable } from "./measure.js";

const run = promisify(execFile);

/** The last commit of 2026-11-23, the day issue 9 was filed. */
const BASELINE = "dfa1e44bd0fc0feb055fdd80b7c6162c087606a9";
const ROUNDS = Number(process.env.BENCH_BASELINE_ROUNDS ?? 5);
/** A round that has not delivered everything by then fails the bench (a lost message would hang it). */
const ROUND_TIMEOUT = 60_000;
const root = new URL("..", import.meta.url).pathname;

/** bench/redis.ts's Cluster link workloads (that file runs when imported, so they are restated here; it says why each). */
interface Workload {
  label: string;
  /** Concrete identifiers, sent round robin. */
  names: number;
  /** Messages per event-loop turn (Infinity: a whole round in one turn). */
  perTurn: number;
  messages: number;
}

const WORKLOADS: readonly Workload[] = [
  { label: "all in one turn, 1 identifier", names: 1, perTurn: Number.POSITIVE_INFINITY, messages: 50_000 },
  { label: "1 per turn, 1 identifier", names: 1, perTurn: 1, messages: 20_000 },
  { label: "10 per turn, 1 identifier", names: 1, perTurn: 10, messages: 20_000 },
  { label: "10 per turn, 8 identifiers", names: 8, perTurn: 10, messages: 20_000 },
];

// What the bench uses of the baseline's modules, typed here so that the type-check never reads that tree.
interface AnyBus {
  twitter(identifier: string, ...args: unknown[]): number;
  follow(pattern: string, follower: () => unknown): unknown;
}
interface AnyLink {
  readonly stats: LinkStats;
  readonly patterns: readonly string[];
  on(event: "error", listener: (error: Error) => void): unknown;
  close(): Promise<unknown>;
}
interface BaselineModules {
  Bus: new () => AnyBus;
  RedisLink: {
    connect(options: {
      bus: AnyBus;
      connection: Cluster;
      prefix: string;
      bufferSize?: number;
      importFilters: readonly string[];
    }): Promise<AnyLink>;
  };
}

type ModeName = "dfa1e44" | "PUBLISH" | "sharded";
const MODES: readonly ModeName[] = ["dfa1e44", "PUBLISH", "sharded"];
const DESCRIPTION: Record<ModeName, string> = {
  dfa1e44: "RedisLink of dfa1e44 (its Bus and Link), hand-built ioredis Cluster client, PUBLISH/PSUBSCRIBE",
  PUBLISH: "RedisLink now, connection { cluster }, sharded: false (PUBLISH/PSUBSCRIBE)",
  sharded: "RedisLink now, connection { cluster }, sharded: true (SPUBLISH/SSUBSCRIBE)",
};

/** One round's figures. */
interface Round {
  perSecond: number;
  nodeCpuUs: number;
  redisCpuUs: number;
  publish: number;
  spublish: number;
}

/** Counters summed over the Cluster's nodes. */
interface NodeCounters {
  cpuSeconds: number;
  publish: number;
  spublish: number;
}

/** CPU seconds (user + sys) and PUBLISH/SPUBLISH calls, summed over the nodes on `ports`. */
async function nodeCounters(ports: readonly number[]): Promise<NodeCounters> {
  const infos = await Promise.all(
    ports.map((port) => withClient(port, (client) => client.call("INFO", "cpu", "commandstats") as Promise<string>)),
  );
  const field = (info: string, pattern: RegExp): number => Number(pattern.exec(info)?.[1] ?? 0);
  const sum = (pattern: RegExp): number => infos.reduce((total, info) => total + field(info, pattern), 0);
  return {
    cpuSeconds: sum(/used_cpu_user:([\d.]+)/) + sum(/used_cpu_sys:([\d.]+)/),
    publish: sum(/cmdstat_publish:calls=(\d+)/),
    spublish: sum(/cmdstat_spublish:calls=(\d+)/),
  };
}

/** Why the baseline cannot be had from this checkout, or undefined when it can. */
async function missingBaseline(): Promise<string | undefined> {
  try {
    await run("git", ["-C", root, "rev-parse", "--git-dir"]);
  } catch (error) {
    return `not a git checkout, or git is not installed (${(error as Error).message.split("\n")[0]})`;
  }
  try {
    await run("git", ["-C", root, "cat-file", "-e", `${BASELINE}^{commit}`]);
    return undefined;
  } catch {
    const { stdout } = await run("git", ["-C", root, "rev-parse", "--is-shallow-repository"]).catch(() => ({ stdout: "?" }));
    const shallow = stdout.trim() === "true" ? "a shallow clone (`git fetch --unshallow` brings it)" : "a history without it";
    return `commit ${BASELINE.slice(0, 7)} is not in this clone: ${shallow}`;
  }
}

/** Writes the baseline's package.json, bridges/ and lib/ into `dir`, with this repo's node_modules linked in. */
async function materialise(dir: string): Promise<void> {
  const archive = join(dir, "baseline.tar");
  await run("git", ["-C", root, "archive", "--format=tar", "-o", archive, BASELINE, "package.json", "bridges", "lib"]);
  await run("tar", ["-xf", archive, "-C", dir]);
  await rm(archive);
  await symlink(join(root, "node_modules"), join(dir, "node_modules"), "dir");
}

/** A sending and a receiving link of one mode, on one workload. */
interface Pair {
  round(): Promise<Round>;
  /** The counters that must agree once every round is done. */
  check(rounds: number): string[];
  describe(): string;
  close(): Promise<void>;
}

interface PairParts {
  sender: AnyBus;
  receiver: AnyBus;
  links: [sending: AnyLink, receiving: AnyLink];
}

/** Builds the round of a pair: sends the workload from `sender`, waits until `receiver`'s followers got all of it. */
function pairOf(
  label: string,
  workload: Workload,
  names: readonly string[],
  { sender, receiver, links }: PairParts,
  counters: () => Promise<NodeCounters>,
  describe: () => string,
): Pair {
  let received = 0;
  let total = 0;
  let wake: (() => void) | undefined;
  // A link's reports (an outage, a lost subscriber connection, an overflow), kept for the failure message.
  const errors: string[] = [];
  for (const link of links) link.on("error", (error) => errors.push(`${error.name}: ${error.message}`));
  const state = (): string =>
    `sender ${JSON.stringify(links[0].stats)}, receiver ${JSON.stringify(links[1].stats)}, link errors: ${errors.join("; ") || "none"}`;
  for (const name of names) {
    receiver.follow(name, () => {
      total++;
      if (++received === workload.messages) wake?.();
    });
  }
  const payload = { value: 1 };
  let rounds = 0;
  return {
    async round() {
      rounds++;
      received = 0;
      let timer: NodeJS.Timeout | undefined;
      const done = new Promise<void>((resolve, reject) => {
        wake = resolve;
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `${label}, ${workload.label}: ${received} of ${workload.messages} delivered after ${ROUND_TIMEOUT} ms; ${state()}`,
              ),
            ),
          ROUND_TIMEOUT,
        );
      });
      globalThis.gc?.();
      const before = await counters();
      const { seconds, nodeCpuUs } = await pacedRound((name, i) => sender.twitter(name, i, payload), workload, names, done, timer);
      const after = await counters();
      return {
        perSecond: workload.messages / seconds,
        nodeCpuUs,
        redisCpuUs: ((after.cpuSeconds - before.cpuSeconds) * 1e6) / workload.messages,
        publish: after.publish - before.publish,
        spublish: after.spublish - before.spublish,
      };
    },
    check(count) {
      const expected = count * workload.messages;
      const [sending, receiving] = links;
      const problems: string[] = errors.length > 0 ? [state()] : [];
      if (rounds !== count) problems.push(`${rounds} rounds run, ${count} expected`);
      if (total !== expected) problems.push(`followers got ${total} of ${expected}`);
      if (sending.stats.sent !== expected || sending.stats.dropped !== 0)
        problems.push(`sender sent ${sending.stats.sent}, dropped ${sending.stats.dropped}`);
      if (receiving.stats.received !== expected) problems.push(`receiver took ${receiving.stats.received}`);
      if (receiving.stats.duplicates + receiving.stats.rejected !== 0)
        problems.push(`receiver: ${receiving.stats.duplicates} duplicates, ${receiving.stats.rejected} rejected`);
      return problems;
    },
    describe,
    close: async () => {
      await Promise.all(links.map((link) => link.close()));
    },
  };
}

/** Opens one pair of links per mode for `workload`, each on a prefix of its own. */
async function openPairs(
  workload: Workload,
  baseline: BaselineModules,
  handBuilt: Cluster,
  connection: RedisConnection,
  counters: () => Promise<NodeCounters>,
): Promise<Record<ModeName, Pair>> {
  const names = Array.from({ length: workload.names }, (_, i) => `bench${i}:tick`);
  const bufferSize = workload.messages * 2;
  const prefix = (): string => `bench-${randomUUID()}:`;
  const opened: Pair[] = [];
  try {
    // The baseline refuses an empty import filter list (PSUBSCRIBE with no pattern): its sender listens
    // to a name nobody sends, the closest to today's `importFilters: []`.
    const oldSender = new baseline.Bus();
    const oldReceiver = new baseline.Bus();
    const oldPrefix = prefix();
    const oldLinks: [AnyLink, AnyLink] = [
      await baseline.RedisLink.connect({
        bus: oldSender,
        connection: handBuilt,
        prefix: oldPrefix,
        bufferSize,
        importFilters: ["bench-idle:none"],
      }),
      await baseline.RedisLink.connect({ bus: oldReceiver, connection: handBuilt, prefix: oldPrefix, importFilters: names }),
    ];
    const old = pairOf(
      "dfa1e44",
      workload,
      names,
      { sender: oldSender, receiver: oldReceiver, links: oldLinks },
      counters,
      () => `receiver PSUBSCRIBEs ${oldLinks[1].patterns.length} pattern(s)`,
    );
    opened.push(old);
    const current = async (sharded: boolean): Promise<Pair> => {
      const sender = new Bus();
      const receiver = new Bus();
      const shared = { connection, prefix: prefix(), sharded };
      const sending = await RedisLink.connect({ ...shared, bus: sender, bufferSize, importFilters: [] });
      const receiving = await RedisLink.connect({ ...shared, bus: receiver, importFilters: names });
      const pair = pairOf(
        sharded ? "sharded" : "PUBLISH",
        workload,
        names,
        { sender, receiver, links: [sending, receiving] },
        counters,
        () =>
          `receiver PSUBSCRIBEs ${receiving.patterns.length} pattern(s), SSUBSCRIBEs ${receiving.shardedChannels.length} channel(s)`,
      );
      opened.push(pair);
      return pair;
    };
    return { dfa1e44: old, PUBLISH: await current(false), sharded: await current(true) };
  } catch (error) {
    await Promise.all(opened.map((pair) => pair.close()));
    throw error;
  }
}

/** Every round of every mode on `workload` (the order rotating), after a warm-up round each. */
async function measureWorkload(pairs: Record<ModeName, Pair>): Promise<Record<ModeName, Round[]>> {
  for (const mode of MODES) await pairs[mode].round();
  const rounds: Record<ModeName, Round[]> = { dfa1e44: [], PUBLISH: [], sharded: [] };
  for (let i = 0; i < ROUNDS; i++) {
    for (let j = 0; j < MODES.length; j++) {
      const mode = MODES[(i + j) % MODES.length] as ModeName;
      rounds[mode].push(await pairs[mode].round());
    }
  }
  // Time for a late or second copy of a message to show in the counts that are checked next.
  await new Promise((resolve) => setTimeout(resolve, 200));
  return rounds;
}

/** Runs the comparison on a started Cluster with the baseline's modules; prints the table. */
async function compare(cluster: RedisCluster, baseline: BaselineModules): Promise<void> {
  const counters = (): Promise<NodeCounters> => nodeCounters(cluster.nodes.map((node) => node.port));
  // How a Cluster was given to the RedisLink of the day: a Cluster client of one's own, which it duplicated.
  const handBuilt = new Cluster([...cluster.startupNodes]);
  const connection: RedisConnection = { cluster: [...cluster.startupNodes] };
  const rows: string[][] = [];
  const failures: string[] = [];
  try {
    for (const workload of WORKLOADS) {
      const pairs = await openPairs(workload, baseline, handBuilt, connection, counters);
      let rounds: Record<ModeName, Round[]>;
      try {
        rounds = await measureWorkload(pairs);
        for (const mode of MODES) {
          for (const problem of pairs[mode].check(ROUNDS + 1)) failures.push(`${workload.label}, ${mode}: ${problem}`);
        }
      } finally {
        await Promise.all(MODES.map((mode) => pairs[mode].close()));
      }
      const figure = (mode: ModeName, of: (round: Round) => number): number => median(rounds[mode].map(of));
      const rate = (mode: ModeName): number => figure(mode, (round) => round.perSecond);
      console.log(
        `\n${workload.label} (${workload.messages.toLocaleString("en-US")} messages a round; msgs/s per round, in the order run)`,
      );
      for (const mode of MODES) {
        const calls = (of: (round: Round) => number): number => rounds[mode].reduce((sum, round) => sum + of(round), 0);
        const publish = calls((round) => round.publish);
        const spublish = calls((round) => round.spublish);
        console.log(
          `  ${mode.padEnd(8)} ${rounds[mode].map((round) => formatRate(round.perSecond)).join(" / ")}; median ${formatRate(rate(mode))}`,
        );
        console.log(
          `           nodes counted PUBLISH ${publish.toLocaleString("en-US")}, SPUBLISH ${spublish.toLocaleString("en-US")} (${((ROUNDS * workload.messages) / (publish + spublish)).toFixed(1)} msgs a command); ${pairs[mode].describe()}`,
        );
        // What each mode must have sent: the baseline and sharded: false only PUBLISH, sharded only SPUBLISH.
        const wrong = mode === "sharded" ? publish : spublish;
        const right = mode === "sharded" ? spublish : publish;
        if (wrong !== 0 || right === 0) failures.push(`${workload.label}, ${mode}: PUBLISH ${publish}, SPUBLISH ${spublish}`);
      }
      const met = rate("sharded") / rate("dfa1e44") >= 2 ? "met" : "missed";
      rows.push([
        workload.label,
        formatRate(rate("dfa1e44")),
        formatRate(rate("PUBLISH")),
        formatRate(rate("sharded")),
        `**${(rate("sharded") / rate("dfa1e44")).toFixed(2)}** (${met})`,
        (rate("sharded") / rate("PUBLISH")).toFixed(2),
        (rate("PUBLISH") / rate("dfa1e44")).toFixed(2),
      ]);
      const cpu = (mode: ModeName): string =>
        `${figure(mode, (round) => round.redisCpuUs).toFixed(1)} / ${figure(mode, (round) => round.nodeCpuUs).toFixed(1)}`;
      rows.push(["  Redis / Node CPU µs per message", cpu("dfa1e44"), cpu("PUBLISH"), cpu("sharded"), "", "", ""]);
    }
  } finally {
    handBuilt.disconnect();
  }
  console.log(
    `\nMedians of ${ROUNDS} alternated rounds per mode (target: sharded ≥ 2.00 × dfa1e44); ${MODES.map((mode) => `${mode}: ${DESCRIPTION[mode]}`).join("; ")}.`,
  );
  printTable(
    [
      "workload (concrete filters)",
      "dfa1e44 msgs/s",
      "now, PUBLISH",
      "now, sharded",
      "sharded ÷ dfa1e44",
      "sharded ÷ PUBLISH",
      "PUBLISH ÷ dfa1e44",
    ],
    rows,
  );
  if (failures.length > 0) throw new Error(`sanity checks failed:\n  ${failures.join("\n  ")}`);
  console.log(
    "sanity: every message delivered once in every round of every mode; the baseline and sharded: false sent PUBLISH only, sharded SPUBLISH only",
  );
}

async function main(): Promise<void> {
  console.log(
    `machine: ${machine()}; load average ${loadavg()
      .map((load) => load.toFixed(2))
      .join(" ")}; ${new Date().toISOString()}`,
  );
  const missing = await missingBaseline();
  if (missing !== undefined) {
    console.log(
      `skipped, no figure: ${missing}. This bench needs the repository's history to rebuild the RedisLink of ${BASELINE.slice(0, 7)}.`,
    );
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), "berrymq-dfa1e44-"));
  let cluster: RedisCluster | undefined;
  const cleanUp = async (): Promise<void> => {
    await cluster?.stop();
    cluster = undefined;
    await rm(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    console.log(`${signal}: removing ${dir} and stopping the Cluster`);
    rmSync(dir, { recursive: true, force: true });
    // The links are still open: their reconnection attempts to the stopped nodes may throw meanwhile.
    process.on("uncaughtException", () => {});
    void cleanUp().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal).once("SIGTERM", onSignal);
  try {
    await materialise(dir);
    const baseline: BaselineModules = {
      Bus: ((await import(pathToFileURL(join(dir, "lib", "bus.ts")).href)) as Pick<BaselineModules, "Bus">).Bus,
      RedisLink: (
        (await import(pathToFileURL(join(dir, "bridges", "redis", "redis-link.ts")).href)) as Pick<BaselineModules, "RedisLink">
      ).RedisLink,
    };
    console.log(`baseline: ${BASELINE.slice(0, 7)} (git archive of package.json, bridges/, lib/) in ${dir}`);
    // No failover wanted here: with the default 1 s, a node starved by a loaded machine could be voted down.
    cluster = await startCluster({ nodeTimeout: 15_000 });
    await compare(cluster, baseline);
  } finally {
    await cleanUp();
    process.off("SIGINT", onSignal).off("SIGTERM", onSignal);
    console.log(
      `load average at the end ${loadavg()
        .map((load) => load.toFixed(2))
        .join(" ")}; ${new Date().toISOString()}`,
    );
  }
}

await main();
