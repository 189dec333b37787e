// `npm run bench -- request`: request/response round trips from this process to a child process, 1 and 64
// in flight, over each berrymq link, against moleculer's `broker.call()` over the same transport where
// moleculer has one (TCP transporter for the direct case, Redis transporter for Redis; none for ZeroMQ).
// Throughput and p50/p99 latency, all in one run. Each pair has its own bus/broker on both sides.
import { spawn } from "node:child_process";
import { loadavg } from "node:os";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { ServiceBroker } from "moleculer";
import { PeerLink, serve } from "../bridges/jsonrpc/index.js";
import { RedisLink } from "../bridges/redis/redis-link.js";
import { Broker, BrokerLink } from "../bridges/zeromq/index.js";
import { Bus } from "../lib/bus.js";
import { within } from "../lib/request.js";
import { startRedis } from "../spec/helpers/redis-server.js";
import { freePort } from "../spec/helpers/free-port.js";
import { machine, printTable } from "./measure.js";

interface ChildConfig {
  peerUrl: string;
  redisUrl: string;
  pubPort: number;
  recvPort: number;
  tcpParent: number;
  tcpChild: number;
}

// Requests per round and of the warm-up, per number in flight. Each pair is warmed up (both sides, so that
// the JIT has compiled the paths measured), then measured in ROUNDS rounds that alternate berrymq and
// moleculer (the shared cores' load changes from second to second): throughput is the median round's,
// p50/p99 are over the latencies of all rounds. REQUEST_BENCH=legacy measures as the bench did before
// (one round of 2,000 / 20,000 after a warm-up of 1,000), to compare with earlier results.
const LEGACY = process.env.REQUEST_BENCH === "legacy";
const COUNTS: Record<number, number> = LEGACY ? { 1: 2_000, 64: 20_000 } : { 1: 3_000, 64: 20_000 };
const WARMUP: Record<number, number> = LEGACY ? { 1: 1_000, 64: 1_000 } : { 1: 5_000, 64: 20_000 };
const ROUNDS = LEGACY ? 1 : Number(process.env.REQUEST_BENCH_ROUNDS ?? 3);
// REQUEST_BENCH_ROWS=Redis: only the rows whose berrymq link name contains it (a shorter run).
const ROWS = process.env.REQUEST_BENCH_ROWS ?? "";

if (process.argv[2] === "--child") await child(JSON.parse(process.argv[3] as string) as ChildConfig);
else await main();

function tcpBroker(nodeID: string, port: number, otherId: string, otherPort: number): ServiceBroker {
  return new ServiceBroker({
    nodeID,
    logger: false,
    transporter: { type: "TCP", options: { udpDiscovery: false, port, urls: `127.0.0.1:${otherPort}/${otherId}` } },
  });
}

function redisBroker(nodeID: string, url: string): ServiceBroker {
  return new ServiceBroker({ nodeID, logger: false, transporter: { type: "Redis", options: { host: "127.0.0.1", port: Number(new URL(url).port) } } });
}

async function child(config: ChildConfig): Promise<void> {
  const add = (m: { args: readonly unknown[] }): number => (m.args[0] as number) + (m.args[1] as number);
  const peerBus = new Bus({ id: "answer-peer" });
  const server = await serve({ bus: peerBus });
  await PeerLink.connect(config.peerUrl, { bus: peerBus, server });
  peerBus.follow("calc:add", add);
  const redisBus = new Bus({ id: "answer-redis" });
  // Subscribed to what its followers follow, as the asking side is and as moleculer's nodes are (each to
  // its own channels): with the default "*:*" it would also get back every answer it publishes.
  await RedisLink.connect({ bus: redisBus, connection: config.redisUrl, prefix: "bench-rq:", importFilters: "followers" });
  redisBus.follow("calc:add", add);
  const clientBus = new Bus({ id: "answer-redis-client" });
  await RedisLink.connect({ bus: clientBus, connection: config.redisUrl, prefix: "bench-rq-cl:", importFilters: "followers", replylessPublish: false });
  clientBus.follow("calc:add", add);
  const zmqBus = new Bus({ id: "answer-zmq" });
  await BrokerLink.connect({ bus: zmqBus, pubPort: config.pubPort, recvPort: config.recvPort });
  zmqBus.follow("calc:add", add);
  const service = { name: "calc", actions: { add: (ctx: { params: { a: number; b: number } }) => ctx.params.a + ctx.params.b } };
  for (const broker of [tcpBroker("answer-tcp", config.tcpChild, "ask-tcp", config.tcpParent), redisBroker("answer-redis", config.redisUrl)]) {
    broker.createService(service);
    await broker.start();
  }
  process.stdout.write("ready\n");
  // "cpu": the parent asks for this process's CPU time, to count the CPU a round trip costs both sides.
  createInterface({ input: process.stdin })
    .on("line", (line) => {
      if (line === "cpu") process.stdout.write(`${JSON.stringify(process.cpuUsage())}\n`);
    })
    .on("close", () => process.exit(0));
}

interface Result {
  perSecond: number;
  p50: number;
  p99: number;
  /** CPU time (user + system) of both processes per request, µs: the median round's. */
  cpu: number;
}

interface Round {
  perSecond: number;
  latencies: number[];
  cpu: number;
}

// A declaration, not a const: main() runs from the top of the module, before consts below it exist.
function median(values: number[]): number {
  return values.sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)] ?? 0;
}

// Throughput and CPU of the median round; p50 and p99 over every round's latencies.
function summary(rounds: readonly Round[]): Result {
  const latencies = rounds.flatMap((round) => round.latencies).sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    perSecond: median(rounds.map((round) => round.perSecond)),
    p50: at(0.5),
    p99: at(0.99),
    cpu: median(rounds.map((round) => round.cpu)),
  };
}

// This process's and the child's CPU time (µs, user + system), read together.
type CpuReader = () => Promise<number>;

// `count` calls, `inFlight` at a time; latency of each call in ms, CPU of both processes per call in µs.
async function run(call: (i: number) => Promise<unknown>, inFlight: number, count: number, cpu: CpuReader): Promise<Round> {
  const latencies: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const started = performance.now();
      const answer = await call(i);
      latencies.push(performance.now() - started);
      if (answer !== i + 1) throw new Error(`wrong answer ${String(answer)} to ${i}`);
    }
  };
  globalThis.gc?.();
  const cpuBefore = await cpu();
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = (performance.now() - started) / 1_000;
  const cpuAfter = await cpu();
  return { perSecond: count / seconds, latencies, cpu: (cpuAfter - cpuBefore) / count };
}

async function main(): Promise<void> {
  const redis = await startRedis({ own: true });
  const zmq = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
  const peerBus = new Bus({ id: "ask-peer" });
  const server = await serve({ bus: peerBus });
  const config: ChildConfig = {
    peerUrl: server.url,
    redisUrl: redis.url,
    pubPort: zmq.pubPort,
    recvPort: zmq.recvPort,
    tcpParent: await freePort(),
    tcpChild: await freePort(),
  };
  const proc = spawn(process.execPath, ["--import", "tsx", "--expose-gc", fileURLToPath(import.meta.url), "--child", JSON.stringify(config)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: proc.stdout });
  const waiting: ((line: string) => void)[] = [];
  lines.on("line", (line) => waiting.shift()?.(line));
  const nextLine = (): Promise<string> => new Promise((resolve) => waiting.push(resolve));
  await nextLine();
  const cpu: CpuReader = async () => {
    proc.stdin.write("cpu\n");
    const child = JSON.parse(await nextLine()) as NodeJS.CpuUsage;
    const own = process.cpuUsage();
    return own.user + own.system + child.user + child.system;
  };
  const loadBefore = loadavg()[0] ?? 0;
  const redisBus = new Bus({ id: "ask-redis" });
  const redisLink = await RedisLink.connect({ bus: redisBus, connection: redis.url, prefix: "bench-rq:", importFilters: "followers" });
  // The default publishes without replies here (a plain local Redis); a fallback would measure the other path.
  if (redisLink.publishPath !== "replyless") throw new Error(`the default RedisLink fell back: ${redisLink.replylessFallback}`);
  const clientBus = new Bus({ id: "ask-redis-client" });
  const clientLink = await RedisLink.connect({ bus: clientBus, connection: redis.url, prefix: "bench-rq-cl:", importFilters: "followers", replylessPublish: false });
  const zmqBus = new Bus({ id: "ask-zmq" });
  const zmqLink = await BrokerLink.connect({ bus: zmqBus, pubPort: zmq.pubPort, recvPort: zmq.recvPort, importFilters: "followers" });
  const tcp = tcpBroker("ask-tcp", config.tcpParent, "answer-tcp", config.tcpChild);
  const mredis = redisBroker("ask-redis", redis.url);
  for (const broker of [tcp, mredis]) {
    await broker.start();
    await broker.waitForServices("calc", 20_000);
  }
  const options = within({ timeout: 30_000 });
  const ask = (bus: Bus) => (i: number) => bus.ask<number>("calc:add", i, 1, options);
  const call = (broker: ServiceBroker) => (i: number) => broker.call("calc.add", { a: i, b: 1 }) as Promise<number>;
  const every: [string, (i: number) => Promise<unknown>, string, ((i: number) => Promise<unknown>) | undefined][] = [
    ["PeerLink (JSON-RPC/HTTP)", ask(peerBus), "moleculer TCP", call(tcp)],
    // The default: publishing over the replyless socket (replylessPublish "auto" on a plain Redis).
    ["RedisLink (pub/sub, default)", ask(redisBus), "moleculer Redis", call(mredis)],
    ["BrokerLink (ZeroMQ broker)", ask(zmqBus), "(moleculer has no ZeroMQ transporter)", undefined],
    // The same pair publishing over the ioredis client (a reply per PUBLISH), as before "auto" became the default.
    ["RedisLink (pub/sub, replylessPublish: false)", ask(clientBus), "moleculer Redis", call(mredis)],
    // The A/B of replylessPublish: the default compared with false (in the moleculer columns), alternated.
    ["RedisLink (default) vs RedisLink (false)", ask(redisBus), "RedisLink (replylessPublish: false)", ask(clientBus)],
  ];
  const pairs = every.filter(([name]) => name.includes(ROWS));
  // Links need a moment after the child joined: ask until each pair answers.
  for (const [, berry] of pairs) {
    for (let tries = 0; ; tries++) {
      try {
        await Promise.race([berry(0), new Promise((_, reject) => setTimeout(() => reject(new Error("no answer")), 500))]);
        break;
      } catch (error) {
        if (tries > 40) throw error;
      }
    }
  }
  const rows: string[][] = [];
  const fmt = (r: Result): string[] => [Math.round(r.perSecond).toLocaleString("en-US"), r.p50.toFixed(2), r.p99.toFixed(2), r.cpu.toFixed(0)];
  for (const [name, berry, peerName, peer] of pairs) {
    for (const inFlight of [1, 64]) {
      const count = COUNTS[inFlight] as number;
      const warmup = WARMUP[inFlight] as number;
      await run(berry, inFlight, warmup, cpu);
      if (peer !== undefined) await run(peer, inFlight, warmup, cpu);
      const berryRounds: Round[] = [];
      const peerRounds: Round[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        // Which goes first alternates too.
        if (peer !== undefined && round % 2 === 1) peerRounds.push(await run(peer, inFlight, count, cpu));
        berryRounds.push(await run(berry, inFlight, count, cpu));
        if (peer !== undefined && round % 2 === 0) peerRounds.push(await run(peer, inFlight, count, cpu));
      }
      const b = summary(berryRounds);
      const m = peer === undefined ? undefined : summary(peerRounds);
      rows.push([
        name,
        String(inFlight),
        ...fmt(b),
        peerName,
        ...(m === undefined ? ["–", "–", "–", "–", "–", "–"] : [...fmt(m), `${(b.perSecond / m.perSecond).toFixed(2)}×`, `${(b.p99 / m.p99).toFixed(2)}×`]),
      ]);
    }
  }
  const load = (n: number): string => n.toFixed(2);
  console.log(`machine: ${machine()}; redis-server on port ${redis.port}; ${new Date().toISOString()}; load average ${load(loadBefore)} → ${load(loadavg()[0] ?? 0)}`);
  console.log(
    LEGACY
      ? "legacy method: one round of 2,000 (1 in flight) / 20,000 (64) after a warm-up of 1,000"
      : `${ROUNDS} alternating rounds of ${COUNTS[1]} (1 in flight) / ${COUNTS[64]} (64) after a warm-up of ${WARMUP[1]} / ${WARMUP[64]}; req/s and CPU (user + system of both processes per request): the median round, p50/p99: all rounds`,
  );
  printTable(
    ["berrymq link", "in flight", "req/s", "p50 ms", "p99 ms", "CPU µs/req", "moleculer", "req/s", "p50 ms", "p99 ms", "CPU µs/req", "throughput ÷ moleculer", "p99 ÷ moleculer"],
    rows,
  );
  proc.stdin.end();
  await Promise.all([tcp.stop(), mredis.stop()]);
  await redisLink.close();
  await clientLink.close();
  await zmqLink.close();
  await server.close();
  zmq.close();
  await redis.stop();
  process.exit(0);
}
