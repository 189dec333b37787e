// `npm run bench -- dispatch`: the same routing workload through berrymq, EventEmitter2 (wildcard mode,
// ':' delimiter) and mqemitter (':' separator, '*' one-level wildcard), with 10, 1,000 and 100,000
// registered patterns; then queue put/get throughput. Prints messages/second and ratios.
import { createRequire } from "node:module";
import MQEmitter from "mqemitter";
import { Bus } from "../lib/bus.js";
import { Queue } from "../lib/queue.js";
import { formatRate, machine, measure, printTable } from "./measure.js";

// eventemitter2 is CommonJS without named ESM exports; its typings describe the named class.
const { EventEmitter2 } = createRequire(import.meta.url)("eventemitter2") as typeof import("eventemitter2");

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
  /** Sends `MESSAGES` messages; resolves when every delivery happened; returns deliveries. */
  setup(patterns: string[]): (topics: string[]) => Promise<number>;
}

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
];

async function dispatchBench(): Promise<Map<string, number>> {
  const rates = new Map<string, number>();
  for (const patternCount of PATTERN_COUNTS) {
    const { patterns, topics } = workload(patternCount);
    for (const contender of contenders) {
      const run = contender.setup(patterns);
      const delivered = await run(topics);
      if (delivered !== MESSAGES * 4) {
        throw new Error(`${contender.name} delivered ${delivered} times for ${MESSAGES} messages; expected ${MESSAGES * 4}`);
      }
      const rate = await measure(contender.name, MESSAGES, async () => void (await run(topics)), 7);
      rates.set(`${contender.name}@${patternCount}`, rate.perSecond);
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

const rates = await dispatchBench();
const rate = (key: string): number => rates.get(key) ?? Number.NaN;
console.log(`\nDispatch: ${MESSAGES.toLocaleString("en-US")} messages, 4 matching followers each — ${machine()}\n`);
printTable(
  ["patterns", "berrymq msg/s", "EventEmitter2 msg/s", "mqemitter msg/s", "berrymq ÷ EE2", "berrymq ÷ mqemitter"],
  PATTERN_COUNTS.map((n) => [
    n.toLocaleString("en-US"),
    formatRate(rate(`berrymq@${n}`)),
    formatRate(rate(`EventEmitter2@${n}`)),
    formatRate(rate(`mqemitter@${n}`)),
    `${(rate(`berrymq@${n}`) / rate(`EventEmitter2@${n}`)).toFixed(2)}×`,
    `${(rate(`berrymq@${n}`) / rate(`mqemitter@${n}`)).toFixed(2)}×`,
  ]),
);
const scale = rate("berrymq@100000") / rate("berrymq@10");
console.log(`\nberrymq at 100,000 patterns ÷ berrymq at 10 patterns: ${scale.toFixed(2)}× (target ≥ 0.70×)`);
console.log(
  `targets at 1,000 patterns: ≥ 3× EventEmitter2 → ${(rate("berrymq@1000") / rate("EventEmitter2@1000")).toFixed(2)}×, ` +
    `≥ 4× mqemitter → ${(rate("berrymq@1000") / rate("mqemitter@1000")).toFixed(2)}×`,
);
console.log(`\nQueue: ${MESSAGES.toLocaleString("en-US")} messages\n`);
printTable(
  ["path", "msg/s"],
  (await queueBench()).map(([label, perSecond]) => [label, formatRate(perSecond)]),
);
