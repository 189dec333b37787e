// Work handed to a durable channel or a RedisQueue while the Redis it uses is down: the maxPending red-team
// specs. Each starts a Redis of its own (stopped after the test), connects, then kills that Redis.
import { randomUUID } from "node:crypto";
import type { TestContext } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import type { BerryError } from "../../../lib/errors.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";

/** The channels "sender" and "worker", with the sends made while their Redis was down. */
export interface SendsWhileDown {
  own: RedisServer;
  prefix: string;
  sender: DurableChannel;
  worker: DurableChannel;
  /** The ids of the sends, in order. */
  ids: string[];
  /** Send `i` (content `i`, id `ids[i]`, to "worker"): "sent", or the error it rejected with. */
  outcomes: Promise<unknown>[];
}

/**
 * Opens "sender" (with `maxPending`) and "worker" on a fresh prefix `<tag>-<uuid>:{durable}:` of a Redis
 * of its own (AOF on), kills that Redis, then sends `count` messages to "worker".
 */
export async function sendsWhileDown(t: TestContext, tag: string, maxPending: number, count: number): Promise<SendsWhileDown> {
  const own = await startRedis({ own: true, aof: true });
  const prefix = `${tag}-${randomUUID()}:{durable}:`;
  const sender = await DurableChannel.open("sender", { connection: own.url, prefix, maxPending });
  const worker = await DurableChannel.open("worker", { connection: own.url, prefix });
  t.after(async () => {
    await Promise.all([sender.end(), worker.end()]);
    await own.stop();
  });
  for (const channel of [sender, worker]) channel.on("error", () => {});
  await own.kill();
  const ids = Array.from({ length: count }, () => randomUUID());
  const outcomes = ids.map((id, i) =>
    sender.send(i, { to: "worker", id }).then(
      () => "sent",
      (error: unknown) => error,
    ),
  );
  return { own, prefix, sender, worker, ids, outcomes };
}

/** A RedisQueue of "job:*" on a bus, connected to a Redis of its own that is now down. */
export interface QueueWhileDown {
  own: RedisServer;
  bus: Bus;
  queue: RedisQueue;
  /** The errors the queue reported, in order. */
  errors: BerryError[];
}

/** Opens the queue `<tag>-<uuid>` with `maxPending` on a Redis of its own, waits until it is connected, and kills that Redis. */
export async function queueWhileDown(t: TestContext, tag: string, maxPending: number): Promise<QueueWhileDown> {
  const own = await startRedis({ own: true });
  const bus = new Bus();
  const queue = new RedisQueue("job:*", { bus, connection: own.url, name: `${tag}-${randomUUID()}`, maxPending });
  t.after(async () => {
    await queue.close();
    await own.stop();
  });
  const errors: BerryError[] = [];
  queue.on("error", (error) => void errors.push(error));
  await queue.qsize(); // connected
  await own.kill();
  return { own, bus, queue, errors };
}
