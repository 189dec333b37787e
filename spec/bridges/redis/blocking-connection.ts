// Cuts a durable channel's blocking connection from the server side, as a network failure would, and
// the lost-BLMOVE-answer case built on it (standalone and Cluster specs).
import assert from "node:assert/strict";
import type { Redis } from "ioredis";
import type { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { sleep } from "../../helpers/wait-for.js";

/** CLIENT KILLs, on the server `client` is connected to, the blocking connection of `consumer`. */
export async function killBlockingConnection(client: Redis, consumer: string): Promise<void> {
  const clients = await client.client("LIST");
  const blocking = /id=(\d+) [^\n]*name=berrymq-durable-block:(\S+)/g;
  const ids = [...String(clients).matchAll(blocking)].filter((match) => match[2] === consumer).map((match) => match[1]);
  assert.equal(ids.length, 1, "the worker's blocking connection");
  await client.client("KILL", "ID", ids[0] as string);
}

/**
 * While `worker` blocks on its empty inbox, leaves what a BLMOVE whose answer a cut connection lost
 * leaves behind (an id in its held list, still queued; `client` is on the server of `prefix`), cuts its
 * blocking connection, and asserts that the receive gets that message and that its reply arrives.
 */
export async function assertLostMoveRecovered(client: Redis, prefix: string, sender: DurableChannel, worker: DurableChannel): Promise<void> {
  const pending = worker.receive({ timeout: 8_000 }); // its BLMOVE blocks on the empty inbox
  await sleep(200);
  const sent = await sender.send("lost", { to: "cut-elsewhere", timeout: 20_000 });
  await client.lmove(`${prefix}in:cut-elsewhere`, `${prefix}held:${worker.consumer}`, "LEFT", "RIGHT");
  await killBlockingConnection(client, worker.consumer);
  const task = await pending;
  assert.deepEqual([task.id, task.content, task.attempts], [sent.id, "lost", 1]);
  await worker.reply(task, "found");
  const reply = await sender.receive({ timeout: 2_000 });
  assert.deepEqual([reply.inReplyTo, reply.content], [sent.id, "found"]);
  await sender.close(reply);
}
