// `npm run bench -- dispatch`: the same routing workload through berrymq, EventEmitter2 (wildcard mode,
// ':' delimiter) and mqemitter (':' separator, '*' one-level wildcard), with 10, 1,000 and 100,000
// registered patterns; beside them the same 4 deliveries per message without wildcards: eventemitter3
// and mitt with exact names, and the floor (a Map look-up and 4 closure calls). Then memory per
// registered follower and queue put/get throughput. Prints messages/second and ratios.
import { EventEmitter as EventEmitter3 } from "eventemitter3";
import { createRequire } from "node:module";
import MQEmitter from "mqemitter";
import { Bus } from "../lib/bus.js";
import { Queue } from "../lib/queue.js";
import { formatRate, machine, measure, printTable } from "./measure.js";

// eventemitter2 is CommonJS without named ESM exports; its typings describe the named class.
const require = createRequire(import.meta.url);
const { EventEmitter2 } = require("eventemitter2") as typeof import("eventemitter2");
// mitt's typings are read as CommonJS here (its package has no "type"); its CommonJS build exports the function.
const mitt = require("mitt") as typeof import("mitt").default;

const MESSAGES = 500_000;
const PATTERN_COUNTS = [10, 1_000, 100_000] as const;

/**
 * Patterns: a third `n{i}:a{i}`, a third `n{i}:*`, a third `*:a{i}`, and one `*:*`. Messages go to
 * `n{i}:a{i}` over up to 1,000 distinct ids, so every message matches exactly four patterns.
 */
function workload(patternCount: number): { patterns: string[]; topics: string[] } {
  const groups = Math.max(1, Math.floor((patternCount - 1) / 3));
  const patterns = ["*:*"];
  for (let i = 0; i < groups; i++) patterns.push(`n${i}:a${i}`, `n${i}:*`, `*:a${i}`);
  const topics = Array.from({ length: Math.min(groups, 1_000) }, (_, i) => `n${i}:a${i}`);
  return { patterns, topics };
}

interface Contender {
  name: string;
  /**
   * Registers the workload (wildcard contenders: every pattern; exact-name contenders: for each topic,
   * one listener per pattern it matches, so 4); returns a round that sends `MESSAGES` messages, resolves
   * when every delivery happened, and returns the deliveries.
   */
  setup(patterns: string[], topics: string[]): (topics: string[]) => Promise<number>;
}

// The four patterns each workload topic `n{i}:a{i}` matches: exact-name contenders get one listener each.
const MATCHING_PER_TOPIC = 4;

const payload = { value: 1 };

const contenders: Contender[] = [
  {
    name: "berrymq",
    setup(patterns) {
      const bus = new Bus();
      let delivered = 0;
      const follower = (): void => void delivered++;
      for (const pattern of patterns) bus.follow(pattern, follower);
      return async (topics) => {
        delivered = 0;
        for (let i = 0; i < MESSAGES; i++) bus.twitter(topics[i % topics.length] as string, payload);
        return delivered;
      };
    },
  },
  {
    name: "EventEmitter2",
    setup(patterns) {
      const emitter = new EventEmitter2({ wildcard: true, delimiter: ":", maxListeners: 0 });
      let delivered = 0;
      const listener = (): void => void delivered++;
      for (const pattern of patterns) emitter.on(pattern, listener);
      return async (topics) => {
        delivered = 0;
        for (let i = 0; i < MESSAGES; i++) emitter.emit(topics[i % topics.length] as string, payload);
        return delivered;
      };
    },
  },
  {
    name: "mqemitter",
    setup(patterns) {
      const emitter = MQEmitter({ separator: ":", wildcardOne: "*", wildcardSome: "#" });
      let delivered = 0;
      const listener = (_message: unknown, done: () => void): void => {
        delivered++;
        done();
      };
      for (const pattern of patterns) emitter.on(pattern, listener);
      return (topics) =>
        new Promise<number>((resolve) => {
          delivered = 0;
          let completed = 0;
          const onDone = (): void => {
            if (++completed === MESSAGES) resolve(delivered);
          };
          for (let i = 0; i < MESSAGES; i++) emitter.emit({ topic: topics[i % topics.length] as string, payload }, onDone);
        });
    },
  },
  // eventemitter3 and mitt have rounds of the same shape on purpose: one shared round would make its
  // emit call site polymorphic and slow both (measured: eventemitter3 -9 %), flattering berrymq.
  {
    name: "eventemitter3",
    setup(_patterns, topics) {
      const emitter = new EventEmitter3();
      let delivered = 0;
      const listener = (): void => void delivered++;
      for (const topic of topics) for (let j = 0; j < MATCHING_PER_TOPIC; j++) emitter.on(topic, listener);
      return async (sent) => {
        delivered = 0;
        for (let i = 0; i < MESSAGES; i++) emitter.emit(sent[i % sent.length] as string, payload);
        return delivered;
      };
    },
  },
  {
    name: "mitt",
    setup(_patterns, topics) {
      const emitter = mitt<Record<string, typeof payload>>();
      let delivered = 0;
      const listener = (): void => void delivered++;
      for (const topic of topics) for (let j = 0; j < MATCHING_PER_TOPIC; j++) emitter.on(topic, listener);
      return async (sent) => {
        delivered = 0;
        for (let i = 0; i < MESSAGES; i++) emitter.emit(sent[i % sent.length] as string, payload);
        return delivered;
      };
    },
  },
  {
    name: "floor",
    setup(_patterns, topics) {
      const listeners = new Map<string, ((value: typeof payload) => void)[]>();
      let delivered = 0;
      const listener = (_value: typeof payload): void => void delivered++;
      for (const topic of topics) listeners.set(topic, Array.from({ length: MATCHING_PER_TOPIC }, () => listener));
      return async (sent) => {
        delivered = 0;
        for (let i = 0; i < MESSAGES; i++) {
          const list = listeners.get(sent[i % sent.length] as string) as ((value: typeof payload) => void)[];
          for (let j = 0; j < list.length; j++) (list[j] as (value: typeof payload) => void)(payload);
        }
        return delivered;
      };
    },
  },
];

// Rounds alternate between contenders (each round: a warm-up run, then a timed one; the best timed run
// counts): a burst of load from other work on the machine then hits them alike, not one contender's rounds.
const ROUNDS = 7;

async function dispatchBench(): Promise<Map<string, number>> {
  const rates = new Map<string, number>();
  for (const patternCount of PATTERN_COUNTS) {
    const { patterns, topics } = workload(patternCount);
    const runs = contenders.map((contender) => ({ name: contender.name, run: contender.setup(patterns, topics) }));
    for (const { name, run } of runs) {
      const delivered = await run(topics);
      if (delivered !== MESSAGES * MATCHING_PER_TOPIC) {
        throw new Error(`${name} delivered ${delivered} times for ${MESSAGES} messages; expected ${MESSAGES * MATCHING_PER_TOPIC}`);
      }
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const { name, run } of runs) {
        const rate = await measure(name, MESSAGES, async () => void (await run(topics)), 1);
        const key = `${name}@${patternCount}`;
        rates.set(key, Math.max(rates.get(key) ?? 0, rate.perSecond));
      }
    }
  }
  return rates;
}

async function queueBench(): Promise<[string, number][]> {
  const bus = new Bus();
  const queue = new Queue("job:*", { bus });
  const sync = await measure("twitter → getNowait", MESSAGES, () => {
    for (let i = 0; i < MESSAGES; i++) bus.twitter("job:run", i);
    for (let i = 0; i < MESSAGES; i++) queue.getNowait();
  });
  const awaited = await measure("twitter → await get()", MESSAGES, async () => {
    for (let i = 0; i < MESSAGES; i++) bus.twitter("job:run", i);
    for (let i = 0; i < MESSAGES; i++) await queue.get();
  });
  const waiting = await measure("await get() waiting, then twitter", MESSAGES, async () => {
    for (let i = 0; i < MESSAGES; i++) {
      const next = queue.get();
      bus.twitter("job:run", i);
      await next;
    }
  });
  queue.close();
  return [sync, awaited, waiting].map((rate) => [rate.label, rate.perSecond]);
}

const MEMORY_PATTERNS = 100_000;

/** Heap bytes retained per entry after `register` ran for every pattern (needs --expose-gc). */
function heapPerEntry(patterns: readonly string[], register: (patterns: readonly string[]) => unknown): number {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error("run with node --expose-gc (npm run bench -- dispatch does)");
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept = register(patterns);
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  if (kept === undefined) throw new Error("nothing kept");
  return (after - before) / patterns.length;
}

/**
 * Memory per registered follower at 100,000 distinct patterns (`m{i}:x{i}`, one follower each, the same
 * function; the pattern strings exist before and are not counted): berrymq (unsubscribe functions
 * dropped, and kept) against a `Map<string, fn[]>`.
 */
function memoryBench(): [string, number][] {
  const patterns = Array.from({ length: MEMORY_PATTERNS }, (_, i) => `m${i}:x${i}`);
  const follower = (): void => undefined;
  const map = heapPerEntry(patterns, (all) => {
    const listeners = new Map<string, (() => void)[]>();
    for (const pattern of all) listeners.set(pattern, [follower]);
    return listeners;
  });
  const bus = heapPerEntry(patterns, (all) => {
    const created = new Bus();
    for (const pattern of all) created.follow(pattern, follower);
    return created;
  });
  const withUnsubscribe = heapPerEntry(patterns, (all) => {
    const created = new Bus();
    return [created, all.map((pattern) => created.follow(pattern, follower))];
  });
  return [
    ["Map<string, fn[]>", map],
    ["berrymq follow()", bus],
    ["berrymq follow(), unsubscribe functions kept", withUnsubscribe],
  ];
}

const rates = await dispatchBench();
const memory = memoryBench();
const rate = (key: string): number => rates.get(key) ?? Number.NaN;
const ratio = (a: string, b: string): string => `${(rate(a) / rate(b)).toFixed(2)}×`;
console.log(`\nDispatch: ${MESSAGES.toLocaleString("en-US")} messages, 4 matching followers each — ${machine()}\n`);
printTable(
  ["patterns", "berrymq msg/s", "EventEmitter2 msg/s", "mqemitter msg/s", "berrymq ÷ EE2", "berrymq ÷ mqemitter"],
  PATTERN_COUNTS.map((n) => [
    n.toLocaleString("en-US"),
    formatRate(rate(`berrymq@${n}`)),
    formatRate(rate(`EventEmitter2@${n}`)),
    formatRate(rate(`mqemitter@${n}`)),
    ratio(`berrymq@${n}`, `EventEmitter2@${n}`),
    ratio(`berrymq@${n}`, `mqemitter@${n}`),
  ]),
);
console.log("\nThe same 4 deliveries per message without wildcards (exact names):\n");
printTable(
  ["patterns", "eventemitter3 msg/s", "mitt msg/s", "floor msg/s", "berrymq ÷ eventemitter3", "berrymq ÷ mitt", "berrymq ÷ floor"],
  PATTERN_COUNTS.map((n) => [
    n.toLocaleString("en-US"),
    formatRate(rate(`eventemitter3@${n}`)),
    formatRate(rate(`mitt@${n}`)),
    formatRate(rate(`floor@${n}`)),
    ratio(`berrymq@${n}`, `eventemitter3@${n}`),
    ratio(`berrymq@${n}`, `mitt@${n}`),
    ratio(`berrymq@${n}`, `floor@${n}`),
  ]),
);
const nanos = (key: string): string => (1e9 / rate(key)).toFixed(0);
console.log(
  `\nns per message at 1,000 patterns: berrymq ${nanos("berrymq@1000")}, eventemitter3 ${nanos("eventemitter3@1000")}, ` +
    `mitt ${nanos("mitt@1000")}, floor ${nanos("floor@1000")}`,
);
const scale = rate("berrymq@100000") / rate("berrymq@10");
console.log(`\nberrymq at 100,000 patterns ÷ berrymq at 10 patterns: ${scale.toFixed(2)}× (target ≥ 0.70×)`);
console.log(
  `targets at 1,000 patterns: ≥ 3× EventEmitter2 → ${ratio("berrymq@1000", "EventEmitter2@1000")}, ` +
    `≥ 4× mqemitter → ${ratio("berrymq@1000", "mqemitter@1000")}, ≥ 0.6× eventemitter3 → ${ratio("berrymq@1000", "eventemitter3@1000")}`,
);
const mapBytes = (memory[0] as [string, number])[1];
console.log(`\nMemory per registered follower, ${MEMORY_PATTERNS.toLocaleString("en-US")} distinct patterns (target ≤ 1.5× the Map):\n`);
printTable(
  ["structure", "bytes per follower", "÷ Map"],
  memory.map(([label, bytes]) => [label, bytes.toFixed(0), `${(bytes / mapBytes).toFixed(2)}×`]),
);
console.log(`\nQueue: ${MESSAGES.toLocaleString("en-US")} messages\n`);
printTable(
  ["path", "msg/s"],
  (await queueBench()).map(([label, perSecond]) => [label, formatRate(perSecond)]),
);
