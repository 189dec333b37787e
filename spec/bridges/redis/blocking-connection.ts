// Cuts a durable channel's blocking connection from the server side, as a network failure would.
import assert from "node:assert/strict";
import type { Redis } from "ioredis";

/** CLIENT KILLs, on the server `client` is connected to, the blocking connection of `consumer`. */
export async function killBlockingConnection(client: Redis, consumer: string): Promise<void> {
  const clients = await client.client("LIST");
  const blocking = /id=(\d+) [^\n]*name=berrymq-durable-block:(\S+)/g;
  const ids = [...String(clients).matchAll(blocking)].filter((match) => match[2] === consumer).map((match) => match[1]);
  assert.equal(ids.length, 1, "the worker's blocking connection");
  await client.client("KILL", "ID", ids[0] as string);
}
