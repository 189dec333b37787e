// `npm run bench -- redis`: on servers this run starts itself (never the machine's own),
// 1. durable round trips per second at concurrency 1, 8 and 50 (CONCURRENCIES), ROUND_TRIPS per round,
//    payload { n } and answer { ok: n } on both sides: berrymq DurableChannel send (timeout 60 s) →
//    receive → reply, and the reply received and closed by the sender, against BullMQ add → process →
//    complete (removeOnComplete), counted when the worker completes, and, as a like-for-like round trip,
//    with the result read back by the producer (QueueEvents "completed");
// 2. pub/sub throughput: a RedisLink between two buses against raw ioredis publish/subscribe;
// 3. on a 6-node Redis Cluster (3 masters): durable round trips on one prefix (one slot, one master)
//    against three prefixes placed on the three masters (prefixInSlots); the pub/sub link with concrete
//    filters, sharded: true (SPUBLISH) against sharded: false (PUBLISH), in alternated rounds, medians,
//    on four workloads (CLUSTER_WORKLOADS says why each).
// BENCH_REDIS_PARTS=durable,pubsub,cluster chooses the parts (cluster and durable together: the Cluster's
// durable comparison too; cluster-durable: that comparison alone, without the Cluster's pub/sub workloads).
// Targets: durable ≥ BullMQ at 1, 8 and 50; pub/sub ≥ 0.7 × raw; 3 prefixes ≥ 1.5 × one.
import { randomUUID } from "node:crypto";
import { loadavg } from "node:os";
import { Queue as BullQueue, Worker as BullWorker, QueueEvents } from "bullmq";
import { Redis } from "ioredis";
import type { RedisConnection } from "../bridges/redis/connection.js";
import { DurableChannel } from "../bridges/redis/durable-channel.js";
import { prefixInSlots } from "../bridges/redis/hash-slot.js";
import { RedisLink } from "../bridges/redis/redis-link.js";
import { Bus } from "../lib/bus.js";
import { startCluster } from "../spec/helpers/redis-cluster.js";
import { startRedis } from "../spec/helpers/redis-server.js";
import { formatRate, machine, measure, median, pacedRound, printTable } from "./measure.js";

const ROUND_TRIPS = Number(process.env.BENCH_ROUND_TRIPS ?? 2_000);
const CONCURRENCIES = (process.env.BENCH_CONCURRENCY ?? "1,8,50").split(",").map(Number);
const PUBSUB_MESSAGES = 50_000;
/**
 * Round trips per Cluster durable round, for one prefix and for three alike (2,000 each on three): with
 * ROUND_TRIPS split over three pairs a round lasted ~70 ms, where the pumps' start and the wait for the
 * slowest pair weighed as much as the work (measured 1.1-1.35x; 2,000 a pair in a loop of its own: ~2x).
 */
const CLUSTER_ROUND_TRIPS = 3 * ROUND_TRIPS;
/** Which parts run (`BENCH_REDIS_PARTS=cluster`): durable, pubsub, cluster (default all three). */
const PARTS = new Set((process.env.BENCH_REDIS_PARTS ?? "durable,pubsub,cluster").split(","));

const server = await startRedis({ own: true });
const url = server.url;
const port = server.port;

/** Runs `loops` copies of `body` until `done()` holds. */
async function loops(count: number, done: () => boolean, body: () => Promise<void>): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, async () => {
      while (!done()) await body();
    }),
  );
}

/** Round trips per second through `prefixes` (one sender/worker pair per prefix, `roundTrips` per round split evenly). */
async function durableBerrymq(
  connection: RedisConnection,
  concurrency: number,
  prefixes: readonly string[] = [`bench-${randomUUID()}:{durable}:`],
  roundTrips = ROUND_TRIPS,
): Promise<number> {
  const pairs = await Promise.all(
    prefixes.map(async (prefix) => ({
      sender: await DurableChannel.open("bench-sender", { connection, prefix }),
      worker: await DurableChannel.open("bench-worker", { connection, prefix }),
    })),
  );
  const share = Math.ceil(roundTrips / pairs.length);
  const label = `berrymq DurableChannel ×${pairs.length} prefix(es), concurrency ${concurrency}`;
  const rate = await measure(
    label,
    share * pairs.length,
    async () => {
      await Promise.all(
        pairs.map(async ({ sender, worker }) => {
          let sent = 0;
          let processed = 0;
          let completed = 0;
          await Promise.all([
            loops(
              concurrency,
              () => sent >= share,
              async () => {
                sent++;
                await sender.send({ n: sent }, { to: "bench-worker", timeout: 60_000 });
              },
            ),
            loops(
              concurrency,
              () => processed >= share,
              async () => {
                processed++;
                const task = await worker.receive();
                await worker.reply(task, { ok: (task.content as { n: number }).n });
              },
            ),
            loops(
              concurrency,
              () => completed >= share,
              async () => {
                completed++;
                await sender.close(await sender.receive());
              },
            ),
          ]);
        }),
      );
    },
    3,
  );
  await Promise.all(pairs.flatMap(({ sender, worker }) => [sender.end(), worker.end()]));
  return rate.perSecond;
}

async function durableBullmq(concurrency: number, readBack: boolean): Promise<number> {
  const name = `bench-${randomUUID()}`;
  const connection = { host: "127.0.0.1", port, maxRetriesPerRequest: null };
  const queue = new BullQueue(name, { connection });
  let completed = 0;
  let wake: (() => void) | undefined;
  const worker = new BullWorker(name, async (job) => ({ ok: (job.data as { n: number }).n }), { connection, concurrency });
  const onCompleted = (): void => {
    completed++;
    if (completed >= ROUND_TRIPS) wake?.();
  };
  const events = readBack ? new QueueEvents(name, { connection }) : undefined;
  if (events === undefined) worker.on("completed", onCompleted);
  else {
    events.on("completed", onCompleted);
    await events.waitUntilReady();
  }
  await worker.waitUntilReady();
  const rate = await measure(
    `${readBack ? "BullMQ + QueueEvents" : "BullMQ"}, concurrency ${concurrency}`,
    ROUND_TRIPS,
    async () => {
      completed = 0;
      const finished = new Promise<void>((resolve) => {
        wake = resolve;
      });
      let added = 0;
      await loops(
        concurrency,
        () => added >= ROUND_TRIPS,
        async () => {
          added++;
          await queue.add("job", { n: added }, { removeOnComplete: true });
        },
      );
      await finished;
    },
    3,
  );
  await worker.close();
  await events?.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return rate.perSecond;
}

/** Link throughput with the default `*:*` filters, all of a round sent in one turn. */
async function pubsubBerrymq(connection: RedisConnection, label = "berrymq RedisLink"): Promise<number> {
  const prefix = `bench-${randomUUID()}:`;
  const a = new Bus();
  const b = new Bus();
  const la = await RedisLink.connect({ bus: a, connection, prefix, bufferSize: PUBSUB_MESSAGES * 2 });
  const lb = await RedisLink.connect({ bus: b, connection, prefix });
  let received = 0;
  let wake: (() => void) | undefined;
  b.follow("bench:tick", () => {
    if (++received === PUBSUB_MESSAGES) wake?.();
  });
  const payload = { value: 1 };
  const rate = await measure(
    label,
    PUBSUB_MESSAGES,
    async () => {
      received = 0;
      const done = new Promise<void>((resolve) => {
        wake = resolve;
      });
      for (let i = 0; i < PUBSUB_MESSAGES; i++) a.twitter("bench:tick", i, payload);
      await done;
    },
    3,
  );
  await la.close();
  await lb.close();
  return rate.perSecond;
}

/**
 * A Cluster link workload: `names` concrete identifiers sent round robin, `perTurn` messages per
 * event-loop turn (`Infinity`: all of a round in one turn). Why each:
 * - all in one turn: the Link's biggest batches (1,000 a frame per identifier): Redis does one command per
 *   thousand messages, so both paths are bound by the Node side (JSON both ways, dispatch);
 * - 1 and 10 per turn, one identifier: a steady flow; what a batch holds is what was sent while the last
 *   one was on its way, so there are many small frames and Redis's per-command cost shows;
 * - 10 per turn, 8 identifiers: with PUBLISH a batch is many runs of one message each, one command per run
 *   (one node keeps the batch order); sharded, one frame per identifier (their channels sit in different
 *   slots, whose relative order is not kept anyway), over several masters: the per-command cost on both sides.
 */
interface ClusterWorkload {
  label: string;
  names: number;
  perTurn: number;
  messages: number;
}

const CLUSTER_WORKLOADS: readonly ClusterWorkload[] = [
  { label: "all in one turn, 1 identifier", names: 1, perTurn: Number.POSITIVE_INFINITY, messages: PUBSUB_MESSAGES },
  { label: "1 per turn, 1 identifier", names: 1, perTurn: 1, messages: 20_000 },
  { label: "10 per turn, 1 identifier", names: 1, perTurn: 10, messages: 20_000 },
  { label: "10 per turn, 8 identifiers", names: 8, perTurn: 10, messages: 20_000 },
];
/** A Cluster link round that has not delivered everything by then fails the bench (a lost message would hang it). */
const CLUSTER_ROUND_TIMEOUT = 120_000;
/** Alternated rounds per mode and workload (PUBLISH, sharded, PUBLISH, …): the figure is each mode's median. */
const CLUSTER_ROUNDS = Number(process.env.BENCH_CLUSTER_ROUNDS ?? 5);

/** One mode's medians over its rounds: messages/s, and CPU µs per message of the Cluster's servers and of this process. */
interface ModeFigures {
  perSecond: number;
  redisCpuUs: number;
  nodeCpuUs: number;
}

/**
 * Sharded (SPUBLISH) against `sharded: false` (PUBLISH) on one workload: both pairs of links stay open,
 * rounds alternate between them after a warm-up round each, so that the other work on the machine
 * weighs on both alike. The receiver imports only the names it follows (concrete filters).
 */
async function clusterPubsub(
  connection: RedisConnection,
  workload: ClusterWorkload,
  redisCpu: () => Promise<number[]>,
): Promise<{ sharded: ModeFigures; published: ModeFigures }> {
  const names = Array.from({ length: workload.names }, (_, i) => `bench${i}:tick`);
  const open = async (sharded: boolean) => {
    const prefix = `bench-${randomUUID()}:`;
    const a = new Bus();
    const b = new Bus();
    const links = [
      await RedisLink.connect({ bus: a, connection, prefix, sharded, bufferSize: workload.messages * 2, importFilters: [] }),
      await RedisLink.connect({ bus: b, connection, prefix, sharded, importFilters: names }),
    ];
    // What the links reported (an outage, a lost subscriber connection), for a round that fails.
    const errors: string[] = [];
    for (const link of links) link.on("error", (error) => errors.push(`${error.name}: ${error.message}`));
    let received = 0;
    let wake: (() => void) | undefined;
    for (const name of names) {
      b.follow(name, () => {
        if (++received === workload.messages) wake?.();
      });
    }
    const payload = { value: 1 };
    const round = async (): Promise<{ seconds: number; redisCpuUs: number; nodeCpuUs: number }> => {
      received = 0;
      let timer: NodeJS.Timeout | undefined;
      // A lost message (pub/sub is at most once) would hang the bench: the round fails, saying what it saw.
      const done = new Promise<void>((resolve, reject) => {
        wake = resolve;
        timer = setTimeout(() => {
          const stats = links.map((link) => JSON.stringify(link.stats)).join(", ");
          reject(
            new Error(
              `${sharded ? "sharded" : "PUBLISH"}, ${workload.label}: ${received} of ${workload.messages} after ${CLUSTER_ROUND_TIMEOUT} ms; links ${stats}; errors: ${errors.join("; ") || "none"}`,
            ),
          );
        }, CLUSTER_ROUND_TIMEOUT);
      });
      globalThis.gc?.();
      const total = async (): Promise<number> => (await redisCpu()).reduce((sum, cpu) => sum + cpu, 0);
      const redisBefore = await total();
      const { seconds, nodeCpuUs } = await pacedRound((name, i) => a.twitter(name, i, payload), workload, names, done, timer);
      const redisCpuUs = (((await total()) - redisBefore) * 1e6) / workload.messages;
      return { seconds, redisCpuUs, nodeCpuUs };
    };
    return { round, close: () => Promise.all(links.map((link) => link.close())) };
  };
  const modes = { published: await open(false), sharded: await open(true) };
  try {
    await modes.published.round();
    await modes.sharded.round();
    const figures = {
      published: [] as Awaited<ReturnType<typeof modes.sharded.round>>[],
      sharded: [] as Awaited<ReturnType<typeof modes.sharded.round>>[],
    };
    for (let i = 0; i < CLUSTER_ROUNDS; i++) {
      // Which mode goes first alternates too.
      for (const mode of i % 2 === 0 ? (["published", "sharded"] as const) : (["sharded", "published"] as const))
        figures[mode].push(await modes[mode].round());
    }
    const summary = (rounds: typeof figures.sharded): ModeFigures => ({
      perSecond: median(rounds.map((r) => workload.messages / r.seconds)),
      redisCpuUs: median(rounds.map((r) => r.redisCpuUs)),
      nodeCpuUs: median(rounds.map((r) => r.nodeCpuUs)),
    });
    for (const mode of ["published", "sharded"] as const) {
      console.log(
        `  Cluster link, ${workload.label}, ${mode}: ${figures[mode].map((r) => formatRate(workload.messages / r.seconds)).join(" / ")} msgs/s`,
      );
    }
    return { sharded: summary(figures.sharded), published: summary(figures.published) };
  } finally {
    await modes.published.close();
    await modes.sharded.close();
  }
}

/** A rate and the CPU µs per item of the servers and of this process while it was measured. */
interface CpuRate {
  perSecond: number;
  redisCpuUs: number;
  nodeCpuUs: number;
  /** CPU the servers and this process used meanwhile, in cores (CPU seconds per second). */
  cores: number;
  /** Of those, this process's cores, and the busiest server's (a master's one thread caps it at 1). */
  nodeCores: number;
  busiestServer: number;
  /** The 1-minute load average at the end: what the rest of the machine was doing. */
  load: number;
}

/** Runs `run` (which handles `items` items in all, warm-up included) and adds the CPU it took per item. */
async function withCpu(run: () => Promise<number>, items: number, redisCpu: () => Promise<number[]>): Promise<CpuRate> {
  const redisBefore = await redisCpu();
  const nodeBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const perSecond = await run();
  const node = process.cpuUsage(nodeBefore);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const each = (await redisCpu()).map((cpu, i) => cpu - (redisBefore[i] ?? 0));
  const redisSeconds = each.reduce((sum, cpu) => sum + cpu, 0);
  const nodeSeconds = (node.user + node.system) / 1e6;
  return {
    perSecond,
    redisCpuUs: (redisSeconds * 1e6) / items,
    nodeCpuUs: (nodeSeconds * 1e6) / items,
    cores: (redisSeconds + nodeSeconds) / seconds,
    nodeCores: nodeSeconds / seconds,
    busiestServer: Math.max(...each) / seconds,
    load: loadavg()[0] ?? 0,
  };
}

/** Seconds of CPU (user + sys) each server listening on `ports` has used. */
async function serversCpu(ports: readonly number[]): Promise<number[]> {
  const infos = await Promise.all(
    ports.map(async (serverPort) => {
      const client = new Redis(serverPort, "127.0.0.1");
      try {
        return await client.info("cpu");
      } finally {
        client.disconnect();
      }
    }),
  );
  return infos.map(
    (info) => Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0),
  );
}

async function pubsubRaw(): Promise<number> {
  const channel = `bench-raw-${randomUUID()}`;
  const pub = new Redis(url);
  const sub = new Redis(url);
  let received = 0;
  let wake: (() => void) | undefined;
  sub.on("message", (_channel: string, text: string) => {
    JSON.parse(text);
    if (++received === PUBSUB_MESSAGES) wake?.();
  });
  await sub.subscribe(channel);
  const payload = { value: 1 };
  const rate = await measure(
    "raw ioredis publish/subscribe",
    PUBSUB_MESSAGES,
    async () => {
      received = 0;
      const done = new Promise<void>((resolve) => {
        wake = resolve;
      });
      for (let i = 0; i < PUBSUB_MESSAGES; i++) void pub.publish(channel, JSON.stringify({ args: [i, payload] }));
      await done;
    },
    3,
  );
  pub.disconnect();
  sub.disconnect();
  return rate.perSecond;
}

try {
  console.log(`machine: ${machine()}; redis-server on port ${port}; concurrency ${CONCURRENCIES.join(", ")}`);
  const rows: string[][] = [];
  for (const concurrency of PARTS.has("durable") ? CONCURRENCIES : []) {
    const ours = await durableBerrymq(url, concurrency);
    const bull = await durableBullmq(concurrency, false);
    const bullBack = await durableBullmq(concurrency, true);
    rows.push([
      `durable round trip, concurrency ${concurrency}`,
      formatRate(ours),
      "BullMQ 6.7.0 add→process→complete",
      formatRate(bull),
      (ours / bull).toFixed(2),
      "≥ 1.00",
    ]);
    rows.push([
      `durable round trip, concurrency ${concurrency}`,
      formatRate(ours),
      "BullMQ 6.7.0 …→QueueEvents (result read back)",
      formatRate(bullBack),
      (ours / bullBack).toFixed(2),
      "(like for like)",
    ]);
  }
  if (PARTS.has("pubsub")) {
    const link = await pubsubBerrymq(url);
    const raw = await pubsubRaw();
    rows.push([
      "pub/sub link",
      formatRate(link),
      "raw ioredis 6.0.0 publish/subscribe",
      formatRate(raw),
      (link / raw).toFixed(2),
      "≥ 0.70",
    ]);
  }
  // No failover wanted here: with the helper's 1 s, a node starved by a loaded machine could be voted down
  // (and pub/sub, at most once, lose what was published meanwhile).
  const cluster = PARTS.has("cluster") || PARTS.has("cluster-durable") ? await startCluster({ nodeTimeout: 15_000 }) : undefined;
  if (cluster !== undefined)
    try {
      const connection: RedisConnection = { cluster: [...cluster.startupNodes] };
      // redis-cli --cluster create gives the three masters these slot ranges.
      const redisCpu = (): Promise<number[]> => serversCpu(cluster.nodes.map((node) => node.port));
      const spread = [
        prefixInSlots("bench-a", 0, 5460),
        prefixInSlots("bench-b", 5461, 10922),
        prefixInSlots("bench-c", 10923, 16383),
      ];
      if ((PARTS.has("cluster") && PARTS.has("durable")) || PARTS.has("cluster-durable")) {
        // Alternated calls (one prefix, three, one, …), medians; CPU per round trip over each call's 4 rounds.
        const figures = { one: [] as CpuRate[], three: [] as CpuRate[] };
        for (let i = 0; i < CLUSTER_ROUNDS; i++) {
          figures.one.push(
            await withCpu(
              () => durableBerrymq(connection, 8, [spread[0] as string], CLUSTER_ROUND_TRIPS),
              4 * CLUSTER_ROUND_TRIPS,
              redisCpu,
            ),
          );
          figures.three.push(
            await withCpu(() => durableBerrymq(connection, 8, spread, CLUSTER_ROUND_TRIPS), 4 * CLUSTER_ROUND_TRIPS, redisCpu),
          );
        }
        const one = median(figures.one.map((f) => f.perSecond));
        const three = median(figures.three.map((f) => f.perSecond));
        // Three prefixes can only carry more with CPU that one prefix leaves idle: each call says how many cores
        // the bench used (servers and this process) and how loaded the machine was.
        const call = (f: CpuRate): string =>
          `${formatRate(f.perSecond)} (${f.cores.toFixed(2)} cores: Node ${f.nodeCores.toFixed(2)}, busiest server ${f.busiestServer.toFixed(2)}; load ${f.load.toFixed(1)})`;
        console.log(`  Cluster durable, 1 prefix: ${figures.one.map(call).join(" / ")}`);
        console.log(`  Cluster durable, 3 prefixes: ${figures.three.map(call).join(" / ")}`);
        console.log(
          `  Cluster durable, 3 ÷ 1 per alternated pair of calls: ${figures.three.map((f, i) => (f.perSecond / (figures.one[i] as CpuRate).perSecond).toFixed(2)).join(" / ")}`,
        );
        rows.push([
          `Cluster: durable, 3 prefixes on 3 masters, concurrency 8 each, median of ${CLUSTER_ROUNDS}`,
          formatRate(three),
          "Cluster: 1 prefix (1 master), concurrency 8, alternated",
          formatRate(one),
          (three / one).toFixed(2),
          "≥ 1.50",
        ]);
        const cpuOf = (list: CpuRate[]): string =>
          `${median(list.map((f) => f.redisCpuUs)).toFixed(0)} µs / ${median(list.map((f) => f.nodeCpuUs)).toFixed(0)} µs`;
        rows.push([
          "  Redis CPU / Node CPU per round trip: 3 prefixes",
          cpuOf(figures.three),
          "1 prefix",
          cpuOf(figures.one),
          "",
          "",
        ]);
        const coresOf = (list: CpuRate[]): string =>
          `${median(list.map((f) => f.cores)).toFixed(2)} cores, load ${median(list.map((f) => f.load)).toFixed(1)}`;
        rows.push([
          "  cores used by the bench (servers + Node), load average: 3 prefixes",
          coresOf(figures.three),
          "1 prefix",
          coresOf(figures.one),
          "",
          "",
        ]);
      }
      // Concrete filters (the receiver imports only what it follows): sharded pub/sub against PUBLISH (sharded: false).
      const cpu = (us: number): string => `${us.toFixed(1)} µs`;
      for (const workload of PARTS.has("cluster") ? CLUSTER_WORKLOADS : []) {
        const { sharded, published } = await clusterPubsub(connection, workload, redisCpu);
        rows.push([
          `Cluster: pub/sub link, concrete filter, ${workload.label}: sharded (SPUBLISH), median of ${CLUSTER_ROUNDS}`,
          formatRate(sharded.perSecond),
          "same, sharded: false (PUBLISH), alternated rounds",
          formatRate(published.perSecond),
          (sharded.perSecond / published.perSecond).toFixed(2),
          "≥ 2.00",
        ]);
        rows.push([
          `  Redis CPU / Node CPU per message, ${workload.label}: sharded`,
          `${cpu(sharded.redisCpuUs)} / ${cpu(sharded.nodeCpuUs)}`,
          "sharded: false",
          `${cpu(published.redisCpuUs)} / ${cpu(published.nodeCpuUs)}`,
          `${(published.redisCpuUs / sharded.redisCpuUs).toFixed(2)} / ${(published.nodeCpuUs / sharded.nodeCpuUs).toFixed(2)}`,
          "(before/after: > 1 is less CPU)",
        ]);
      }
    } finally {
      await cluster.stop();
    }
  printTable(["workload", "berrymq msgs/s", "baseline", "baseline msgs/s", "ratio", "target"], rows);
} finally {
  await server.stop();
}
