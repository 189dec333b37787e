// `npm run bench -- redis`: on one redis-server this run starts itself (never the machine's own),
// 1. durable round trips per second, ROUND_TRIPS per round, CONCURRENCY loops per role, payload { n } and
//    answer { ok: n } on both sides: berrymq DurableChannel send (timeout 60 s) → receive → reply, and the
//    reply received and closed by the sender, against BullMQ add → process → complete (removeOnComplete),
//    counted when the worker completes, and, as a like-for-like round trip, with the result read back by
//    the producer (QueueEvents "completed");
// 2. pub/sub throughput: a RedisLink between two buses against raw ioredis publish/subscribe.
// Targets: durable ≥ BullMQ; pub/sub ≥ 0.7 × raw.
import { randomUUID } from "node:crypto";
import { Queue as BullQueue, QueueEvents, Worker as BullWorker } from "bullmq";
import { Redis } from "ioredis";
import { DurableChannel } from "../bridges/redis/durable-channel.js";
import { RedisLink } from "../bridges/redis/redis-link.js";
import { Bus } from "../lib/bus.js";
import { startRedis } from "../spec/helpers/redis-server.js";
import { formatRate, machine, measure, printTable } from "./measure.js";

const ROUND_TRIPS = Number(process.env.BENCH_ROUND_TRIPS ?? 2_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const PUBSUB_MESSAGES = 50_000;

const server = await startRedis({ own: true });
const url = server.url;
const port = server.port;

/** Runs `loops` copies of `body` until `done()` holds. */
async function loops(count: number, done: () => boolean, body: () => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: count }, async () => {
    while (!done()) await body();
  }));
}

async function durableBerrymq(): Promise<number> {
  const prefix = `bench-${randomUUID()}:{durable}:`;
  const sender = await DurableChannel.open("bench-sender", { connection: url, prefix });
  const worker = await DurableChannel.open("bench-worker", { connection: url, prefix });
  const rate = await measure("berrymq DurableChannel", ROUND_TRIPS, async () => {
    let sent = 0;
    let processed = 0;
    let completed = 0;
    await Promise.all([
      loops(CONCURRENCY, () => sent >= ROUND_TRIPS, async () => {
        sent++;
        await sender.send({ n: sent }, { to: "bench-worker", timeout: 60_000 });
      }),
      loops(CONCURRENCY, () => processed >= ROUND_TRIPS, async () => {
        processed++;
        const task = await worker.receive();
        await worker.reply(task, { ok: (task.content as { n: number }).n });
      }),
      loops(CONCURRENCY, () => completed >= ROUND_TRIPS, async () => {
        completed++;
        await sender.close(await sender.receive());
      }),
    ]);
  }, 3);
  await Promise.all([sender.end(), worker.end()]);
  return rate.perSecond;
}

async function durableBullmq(readBack: boolean): Promise<number> {
  const name = `bench-${randomUUID()}`;
  const connection = { host: "127.0.0.1", port, maxRetriesPerRequest: null };
  const queue = new BullQueue(name, { connection });
  let completed = 0;
  let wake: (() => void) | undefined;
  const worker = new BullWorker(name, async (job) => ({ ok: (job.data as { n: number }).n }), { connection, concurrency: CONCURRENCY });
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
  const rate = await measure(readBack ? "BullMQ + QueueEvents" : "BullMQ", ROUND_TRIPS, async () => {
    completed = 0;
    const finished = new Promise<void>((resolve) => {
      wake = resolve;
    });
    let added = 0;
    await loops(CONCURRENCY, () => added >= ROUND_TRIPS, async () => {
      added++;
      await queue.add("job", { n: added }, { removeOnComplete: true });
    });
    await finished;
  }, 3);
  await worker.close();
  await events?.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return rate.perSecond;
}

async function pubsubBerrymq(): Promise<number> {
  const prefix = `bench-${randomUUID()}:`;
  const a = new Bus();
  const b = new Bus();
  const la = await RedisLink.connect({ bus: a, connection: url, prefix, bufferSize: PUBSUB_MESSAGES * 2 });
  const lb = await RedisLink.connect({ bus: b, connection: url, prefix });
  let received = 0;
  let wake: (() => void) | undefined;
  b.follow("bench:tick", () => {
    if (++received === PUBSUB_MESSAGES) wake?.();
  });
  const payload = { value: 1 };
  const rate = await measure("berrymq RedisLink", PUBSUB_MESSAGES, async () => {
    received = 0;
    const done = new Promise<void>((resolve) => {
      wake = resolve;
    });
    for (let i = 0; i < PUBSUB_MESSAGES; i++) a.twitter("bench:tick", i, payload);
    await done;
  }, 3);
  await la.close();
  await lb.close();
  return rate.perSecond;
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
  const rate = await measure("raw ioredis publish/subscribe", PUBSUB_MESSAGES, async () => {
    received = 0;
    const done = new Promise<void>((resolve) => {
      wake = resolve;
    });
    for (let i = 0; i < PUBSUB_MESSAGES; i++) void pub.publish(channel, JSON.stringify({ args: [i, payload] }));
    await done;
  }, 3);
  pub.disconnect();
  sub.disconnect();
  return rate.perSecond;
}

try {
  console.log(`machine: ${machine()}; redis-server on port ${port}; concurrency ${CONCURRENCY}`);
  const ours = await durableBerrymq();
  const bull = await durableBullmq(false);
  const bullBack = await durableBullmq(true);
  const link = await pubsubBerrymq();
  const raw = await pubsubRaw();
  printTable(
    ["workload", "berrymq msgs/s", "baseline", "baseline msgs/s", "ratio", "target"],
    [
      ["durable round trip", formatRate(ours), "BullMQ 6.7.0 add→process→complete", formatRate(bull), (ours / bull).toFixed(2), "≥ 1.00"],
      ["durable round trip", formatRate(ours), "BullMQ 6.7.0 add→process→complete→QueueEvents", formatRate(bullBack), (ours / bullBack).toFixed(2), "(context)"],
      ["pub/sub link", formatRate(link), "raw ioredis 6.0.0 publish/subscribe", formatRate(raw), (link / raw).toFixed(2), "≥ 0.70"],
    ],
  );
} finally {
  await server.stop();
}
