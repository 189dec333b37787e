// `npm run bench -- zeromq`: broker fan-out (one publisher, two subscribers, every message to both)
// through berrymq's Broker and BrokerLinks, against raw zeromq.js PUB/SUB carrying the same payloads
// (JSON-encoded, parsed on receipt, one message per send: the target's baseline), and against the same
// raw PUB/SUB batching 1,000 payloads per frame (a reference: batching without routing, validation or a
// bus); then acknowledged messages/second (one subscriber acknowledging); then one-message round-trip
// latency (publisher → broker → subscriber → back) against a raw DEALER→ROUTER→PUB→SUB relay making the
// same trip, the two taking turns so that both see the same load. Everything runs in this one process on 127.0.0.1, except the row that spawns the broker as a child.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import * as zmq from "zeromq";
import { Bus } from "../lib/bus.js";
import { Broker, BrokerLink } from "../bridges/zeromq/index.js";
import { formatRate, machine, measure, printTable, type Rate } from "./measure.js";

const FAN_OUT = 20_000;

/**
 * A rate, with the CPU time this process spent per item over all its rounds (warm-up and the forced GC
 * before each round included), and the main thread's share: the rest is V8's GC helper threads and
 * zeromq's I/O thread.
 */
interface CpuRate extends Rate {
  cpuMicros: number;
  mainMicros: number;
}

function cpuMicrosSince(before: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(before);
  return used.user + used.system;
}

// The main thread's CPU time in µs (Linux; clock ticks of 10 ms), NaN elsewhere.
function mainThreadMicros(): number {
  try {
    const stat = readFileSync("/proc/thread-self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
  } catch {
    return Number.NaN;
  }
}

// CPU per item says more than the rate on this shared machine: the load moves the rate, not the work.
async function measureCpu(label: string, count: number, round: () => Promise<void>, rounds: number): Promise<CpuRate> {
  const before = process.cpuUsage();
  const mainBefore = mainThreadMicros();
  const rate = await measure(label, count, round, rounds);
  const items = count * (rounds + 1);
  return { ...rate, cpuMicros: cpuMicrosSince(before) / items, mainMicros: (mainThreadMicros() - mainBefore) / items };
}
const ACKED = 10_000;
const payload = { kind: "tick", text: "x".repeat(64), values: [1, 2, 3] };

// `batch` > 1: the raw publisher joins that many payloads by "\n" into one frame, as the broker protocol
// does: a reference for what batching alone gives, without routing, validation or a bus.
async function rawPubSub(batch = 1): Promise<{ round: () => Promise<void>; close: () => void }> {
  const pub = new zmq.Publisher({ linger: 0, sendHighWaterMark: 0 });
  await pub.bind("tcp://127.0.0.1:*");
  const endpoint = pub.lastEndpoint as string;
  const subs = [0, 1].map(() => {
    const sub = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 0 });
    sub.connect(endpoint);
    sub.subscribe("bench");
    return sub;
  });
  const counts = [0, 0];
  let wake: (() => void) | undefined;
  subs.forEach((sub, i) => {
    void (async () => {
      try {
        for await (const [, body] of sub) {
          const lines = (body as Buffer).toString().split("\n");
          for (const line of lines) JSON.parse(line);
          counts[i] = (counts[i] as number) + lines.length;
          if (wake !== undefined && counts.every((c) => c >= target)) wake();
        }
      } catch {
        // closed
      }
    })();
  });
  let target = 1;
  // Slow joiners: publish until both subscribers hear something.
  while (counts.some((c) => c === 0)) {
    await pub.send(["bench", JSON.stringify(payload)]);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    round: async () => {
      counts.fill(0);
      target = FAN_OUT;
      const done = new Promise<void>((resolve) => {
        wake = resolve;
      });
      for (let i = 0; i < FAN_OUT; i += batch) {
        const lines: string[] = [];
        for (let j = i; j < Math.min(i + batch, FAN_OUT); j++) lines.push(JSON.stringify({ ...payload, seq: j }));
        await pub.send(["bench", lines.join("\n")]);
      }
      await done;
    },
    close: () => {
      pub.close();
      for (const sub of subs) sub.close();
    },
  };
}

// The broker in its own process, as `berrymq broker` runs in production: it gets the second core.
async function brokerChild(): Promise<{ pubPort: number; recvPort: number; close: () => void }> {
  const code = `import { Broker } from ${JSON.stringify(new URL("../bridges/zeromq/index.ts", import.meta.url).pathname)};
const b = await Broker.start({ pubPort: 0, recvPort: 0 }); console.log(JSON.stringify({ pub: b.pubPort, recv: b.recvPort }));`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const line = await new Promise<string>((resolve) => child.stdout.once("data", (chunk: Buffer) => resolve(chunk.toString())));
  const { pub, recv } = JSON.parse(line) as { pub: number; recv: number };
  return { pubPort: pub, recvPort: recv, close: () => child.kill("SIGTERM") };
}

async function brokerFanOut(ownProcess: boolean): Promise<{ round: () => Promise<void>; close: () => Promise<void> }> {
  const broker = ownProcess ? await brokerChild() : await Broker.start({ pubPort: 0, recvPort: 0 });
  const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort, bufferSize: FAN_OUT * 2 };
  const publisher = await BrokerLink.connect({ bus: new Bus(), ...ports, importFilters: ["none:none"] });
  const subscribers = await Promise.all(
    [0, 1].map(() => BrokerLink.connect({ bus: new Bus(), ...ports, importFilters: ["bench:*"] })),
  );
  const counts = [0, 0];
  let wake: (() => void) | undefined;
  subscribers.forEach((link, i) => {
    link.bus.follow("bench:tick", () => {
      counts[i] = (counts[i] as number) + 1;
      if (wake !== undefined && counts.every((c) => c >= FAN_OUT)) wake();
    });
  });
  return {
    round: async () => {
      counts.fill(0);
      const done = new Promise<void>((resolve) => {
        wake = resolve;
      });
      for (let i = 0; i < FAN_OUT; i++) publisher.bus.twitter("bench:tick", { ...payload, seq: i });
      await done;
    },
    close: async () => {
      await publisher.close();
      for (const link of subscribers) await link.close();
      broker.close();
    },
  };
}

async function acknowledged(): Promise<{ round: () => Promise<void>; close: () => Promise<void> }> {
  // The per-client quota would refuse a 10,000-message burst from one publisher: lift it for the bench.
  const broker = await Broker.start({ pubPort: 0, recvPort: 0, maxUnacked: ACKED * 2, maxUnackedPerClient: ACKED * 2 });
  const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort, bufferSize: ACKED * 2 };
  const publisher = await BrokerLink.connect({
    bus: new Bus(),
    ...ports,
    importFilters: ["none:none"],
    acknowledge: ["bench:*"],
  });
  const subscriber = await BrokerLink.connect({ bus: new Bus(), ...ports, importFilters: ["bench:*"] });
  subscriber.bus.follow("bench:job", () => undefined);
  return {
    round: async () => {
      const target = broker.stats.acked + ACKED;
      for (let i = 0; i < ACKED; i++) publisher.bus.twitter("bench:job", { ...payload, seq: i });
      while (broker.stats.acked < target) await new Promise((resolve) => setTimeout(resolve, 1));
    },
    close: async () => {
      await publisher.close();
      await subscriber.close();
      broker.close();
    },
  };
}

const PINGS = 2_000;
// The two relays' pings alternate in blocks, so that both see the same load from the rest of the machine
// (measured one after the other, a burst of load on this shared 2-core machine lands on one of them only).
const PING_BLOCK = 250;
// Pings through each relay before the measured ones, taking turns the same way. V8 optimises a function
// once it ran enough: the raw relay's few functions are optimised within 100 pings, berrymq's ~100 on the
// round-trip path were still being compiled through the measured pings (40–60 TurboFan compiles of ~1–2 ms
// of a core each, about one slow round trip each: 2 % of them, its p99). Both relays are measured warm.
const WARM_PINGS = 2_000;

/** Median and 99th percentile of round trips, in µs. */
interface Latency {
  label: string;
  p50: number;
  p99: number;
  /** CPU time of this process per round trip (both ends and, for berrymq, the broker). */
  cpuMicros: number;
}

/** A relay set up for pings: `ping` makes one round trip and resolves to its duration in µs. */
interface Pinger {
  ping: (seq: number) => Promise<number>;
  close: () => Promise<void>;
}

function percentiles(label: string, samples: number[], cpuMicros: number): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { label, p50: at(0.5), p99: at(0.99), cpuMicros: cpuMicros / samples.length };
}

function elapsedSince(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1_000;
}

// Raw relay: the pinger's DEALER → relay ROUTER → relay PUB → echo's SUB; the echo answers the same way
// back to the pinger's SUB. The same hops as publisher → broker → subscriber → broker → publisher.
async function rawRelay(): Promise<Pinger> {
  const router = new zmq.Router({ linger: 0 });
  const pub = new zmq.Publisher({ linger: 0 });
  await router.bind("tcp://127.0.0.1:*");
  await pub.bind("tcp://127.0.0.1:*");
  void (async () => {
    try {
      for await (const [, topic, body] of router) await pub.send([topic as Buffer, body as Buffer]);
    } catch {
      // closed
    }
  })();
  const end = (name: string): { dealer: zmq.Dealer; sub: zmq.Subscriber } => {
    const dealer = new zmq.Dealer({ linger: 0 });
    dealer.connect(router.lastEndpoint as string);
    const sub = new zmq.Subscriber({ linger: 0 });
    sub.connect(pub.lastEndpoint as string);
    sub.subscribe(name);
    return { dealer, sub };
  };
  const pinger = end("pong");
  const echo = end("ping");
  void (async () => {
    try {
      for await (const [, body] of echo.sub) {
        JSON.parse((body as Buffer).toString());
        await echo.dealer.send(["pong", body as Buffer]);
      }
    } catch {
      // closed
    }
  })();
  // An answer is the pong of the ping with its seq: a late answer to an earlier ping is not taken for it.
  const answer = async (seq: number): Promise<void> => {
    for (;;) {
      const [, body] = await pinger.sub.receive();
      if ((JSON.parse((body as Buffer).toString()) as { seq?: unknown }).seq === seq) return;
    }
  };
  const ping = async (seq: number): Promise<number> => {
    const started = process.hrtime.bigint();
    await pinger.dealer.send(["ping", JSON.stringify({ ...payload, seq })]);
    await answer(seq);
    return elapsedSince(started);
  };
  // Slow joiners: the PUB drops what it sends before a SUB joined, so ping every 100 ms until one comes
  // back (one receive at a time: zeromq.js refuses a second while one is pending).
  let joined = false;
  const first = answer(-1).then(() => {
    joined = true;
  });
  while (!joined) {
    await pinger.dealer.send(["ping", JSON.stringify({ ...payload, seq: -1 })]);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await first;
  return {
    ping,
    close: async () => {
      for (const socket of [router, pub, pinger.dealer, pinger.sub, echo.dealer, echo.sub]) socket.close();
    },
  };
}

async function brokerRelay(): Promise<Pinger> {
  const broker = await Broker.start({ pubPort: 0, recvPort: 0 });
  const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort };
  const pinger = await BrokerLink.connect({ bus: new Bus(), ...ports, importFilters: ["bench:pong"] });
  const echo = await BrokerLink.connect({ bus: new Bus(), ...ports, importFilters: ["bench:ping"] });
  echo.bus.follow("bench:ping", (m) => void echo.bus.twitter("bench:pong", m.args[0]));
  let answered: (() => void) | undefined;
  pinger.bus.follow("bench:pong", () => answered?.());
  const ping = async (seq: number): Promise<number> => {
    const started = process.hrtime.bigint();
    const pong = new Promise<void>((resolve) => {
      answered = resolve;
    });
    pinger.bus.twitter("bench:ping", { ...payload, seq });
    await pong;
    return elapsedSince(started);
  };
  return {
    ping,
    close: async () => {
      await pinger.close();
      await echo.close();
      broker.close();
    },
  };
}

/** PINGS round trips through each relay, one after another, the relays taking turns every PING_BLOCK pings. */
async function latencies(): Promise<[Latency, Latency]> {
  const relays = [await rawRelay(), await brokerRelay()];
  for (let done = 0; done < WARM_PINGS; done += PING_BLOCK) {
    for (const relay of relays) for (let i = 0; i < PING_BLOCK; i++) await relay.ping(-1);
  }
  const samples: number[][] = relays.map(() => []);
  const cpu = relays.map(() => 0);
  for (let done = 0; done < PINGS; done += PING_BLOCK) {
    for (const [r, relay] of relays.entries()) {
      const before = process.cpuUsage();
      for (let i = done; i < done + PING_BLOCK; i++) samples[r]?.push(await relay.ping(i));
      cpu[r] = (cpu[r] as number) + cpuMicrosSince(before);
    }
  }
  for (const relay of relays) await relay.close();
  return [
    percentiles("raw DEALER→ROUTER→PUB→SUB relay, there and back", samples[0] ?? [], cpu[0] as number),
    percentiles("berrymq: publisher → broker → subscriber → back", samples[1] ?? [], cpu[1] as number),
  ];
}

// This machine is shared: the load average says how far the rates below can be trusted.
const loadBefore = loadavg();
const raw = await rawPubSub();
const rawRate = await measureCpu("raw zeromq.js PUB/SUB", FAN_OUT, raw.round, 3);
raw.close();
const rawBatched = await rawPubSub(1_000);
const rawBatchedRate = await measureCpu("raw zeromq.js PUB/SUB, 1,000 payloads per frame (reference)", FAN_OUT, rawBatched.round, 3);
rawBatched.close();
const ours = await brokerFanOut(false);
const oursRate = await measureCpu("berrymq broker fan-out (broker in this process)", FAN_OUT, ours.round, 3);
await ours.close();
const split = await brokerFanOut(true);
const splitRate = await measureCpu("berrymq broker fan-out (broker in its own process)", FAN_OUT, split.round, 3);
await split.close();
const acks = await acknowledged();
const ackRate = await measureCpu("berrymq acknowledged", ACKED, acks.round, 3);
await acks.close();
const [rawLatency, ourLatency] = await latencies();

const load = (l: number[]): string => l.map((x) => x.toFixed(2)).join(" ");
console.log(`\n${machine()}; load average ${load(loadBefore)} at the start, ${load(loadavg())} at the end\n`);
console.log(
  `Fan-out: ${FAN_OUT} messages, each to 2 subscribers; acknowledged: ${ACKED} messages, 1 subscriber. Best of 3 rounds.\n`,
);
printTable(
  ["what", "messages/s", "vs raw PUB/SUB", "CPU µs/msg (this process)", "of which main thread"],
  [rawRate, rawBatchedRate, oursRate, splitRate, ackRate].map((rate) => [
    rate.label,
    formatRate(rate.perSecond),
    `${(rate.perSecond / rawRate.perSecond).toFixed(2)}×`,
    rate.cpuMicros.toFixed(1),
    rate.mainMicros.toFixed(1),
  ]),
);
console.log(
  `\nRound trip of one message, ${PINGS} pings one after another through each, taking turns every ${PING_BLOCK}, after ${WARM_PINGS} warm-up pings each (µs):\n`,
);
printTable(
  ["what", "p50 µs", "p99 µs", "CPU µs per round trip"],
  [rawLatency, ourLatency].map((l) => [l.label, l.p50.toFixed(0), l.p99.toFixed(0), l.cpuMicros.toFixed(0)]),
);
const ratio = Math.max(oursRate.perSecond, splitRate.perSecond) / rawRate.perSecond;
const batchedRatio = Math.max(oursRate.perSecond, splitRate.perSecond) / rawBatchedRate.perSecond;
const ackRatio = ackRate.perSecond / rawBatchedRate.perSecond;
const p50Ratio = ourLatency.p50 / rawLatency.p50;
const p99Ratio = ourLatency.p99 / rawLatency.p99;
const verdict = (ok: boolean): string => (ok ? "met" : "MISSED");
console.log(`\nTarget fan-out >= 0.5x raw one-per-send: ${verdict(ratio >= 0.5)} (${ratio.toFixed(2)}x)`);
console.log(`Target fan-out >= 0.5x raw batched: ${verdict(batchedRatio >= 0.5)} (${batchedRatio.toFixed(2)}x)`);
console.log(`Target acknowledged >= 0.4x raw batched: ${verdict(ackRatio >= 0.4)} (${ackRatio.toFixed(2)}x)`);
console.log(
  `Target latency <= 1.3x raw relay: p50 ${verdict(p50Ratio <= 1.3)} (${p50Ratio.toFixed(2)}x), p99 ${verdict(p99Ratio <= 1.3)} (${p99Ratio.toFixed(2)}x)`,
);
