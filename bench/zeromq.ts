// `npm run bench -- zeromq`: broker fan-out (one publisher, two subscribers, every message to both)
// through berrymq's Broker and BrokerLinks, against raw zeromq.js PUB/SUB carrying the same payloads
// (JSON-encoded, parsed on receipt, one message per send: the target's baseline), and against the same
// raw PUB/SUB batching 1,000 payloads per frame (a reference: batching without routing, validation or a
// bus); then acknowledged messages/second (one subscriber acknowledging). Everything runs in this one
// process on 127.0.0.1, except the row that spawns the broker as a child.
import { spawn } from "node:child_process";
import * as zmq from "zeromq";
import { Bus } from "../lib/bus.js";
import { Broker, BrokerLink } from "../bridges/zeromq/index.js";
import { formatRate, machine, measure, printTable } from "./measure.js";

const FAN_OUT = 20_000;
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
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve) => child.stdout.once("data", (chunk: Buffer) => resolve(chunk.toString())));
  const { pub, recv } = JSON.parse(line) as { pub: number; recv: number };
  return { pubPort: pub, recvPort: recv, close: () => child.kill("SIGTERM") };
}

async function brokerFanOut(ownProcess: boolean): Promise<{ round: () => Promise<void>; close: () => Promise<void> }> {
  const broker = ownProcess ? await brokerChild() : await Broker.start({ pubPort: 0, recvPort: 0 });
  const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort, bufferSize: FAN_OUT * 2 };
  const publisher = await BrokerLink.connect({ bus: new Bus(), ...ports, importFilters: ["none:none"] });
  const subscribers = await Promise.all([0, 1].map(() => BrokerLink.connect({ bus: new Bus(), ...ports, importFilters: ["bench:*"] })));
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
  const broker = await Broker.start({ pubPort: 0, recvPort: 0, maxUnacked: ACKED * 2 });
  const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort, bufferSize: ACKED * 2 };
  const publisher = await BrokerLink.connect({ bus: new Bus(), ...ports, importFilters: ["none:none"], acknowledge: ["bench:*"] });
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

const raw = await rawPubSub();
const rawRate = await measure("raw zeromq.js PUB/SUB", FAN_OUT, raw.round, 3);
raw.close();
const rawBatched = await rawPubSub(1_000);
const rawBatchedRate = await measure("raw zeromq.js PUB/SUB, 1,000 payloads per frame (reference)", FAN_OUT, rawBatched.round, 3);
rawBatched.close();
const ours = await brokerFanOut(false);
const oursRate = await measure("berrymq broker fan-out (broker in this process)", FAN_OUT, ours.round, 3);
await ours.close();
const split = await brokerFanOut(true);
const splitRate = await measure("berrymq broker fan-out (broker in its own process)", FAN_OUT, split.round, 3);
await split.close();
const acks = await acknowledged();
const ackRate = await measure("berrymq acknowledged", ACKED, acks.round, 3);
await acks.close();

console.log(`\n${machine()}\n`);
console.log(`Fan-out: ${FAN_OUT} messages, each to 2 subscribers; acknowledged: ${ACKED} messages, 1 subscriber. Best of 3 rounds.\n`);
printTable(
  ["what", "messages/s", "vs raw PUB/SUB"],
  [
    [rawRate.label, formatRate(rawRate.perSecond), "1.00×"],
    [rawBatchedRate.label, formatRate(rawBatchedRate.perSecond), `${(rawBatchedRate.perSecond / rawRate.perSecond).toFixed(2)}×`],
    [oursRate.label, formatRate(oursRate.perSecond), `${(oursRate.perSecond / rawRate.perSecond).toFixed(2)}×`],
    [splitRate.label, formatRate(splitRate.perSecond), `${(splitRate.perSecond / rawRate.perSecond).toFixed(2)}×`],
    [ackRate.label, formatRate(ackRate.perSecond), `${(ackRate.perSecond / rawRate.perSecond).toFixed(2)}×`],
  ],
);
const ratio = Math.max(oursRate.perSecond, splitRate.perSecond) / rawRate.perSecond;
console.log(`\nTarget fan-out >= 0.5x raw: ${ratio >= 0.5 ? "met" : "MISSED"} (${ratio.toFixed(2)}x)`);
