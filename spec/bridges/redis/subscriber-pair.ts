// The r32 specs of a RedisLink's subscriber connection: a sender straight to Redis, a receiver through a
// relay that can silence its subscriber connection.
import { randomUUID } from "node:crypto";
import type { TestContext } from "node:test";
import { Redis } from "ioredis";
import { RedisLink } from "../../../bridges/redis/index.js";
import type { BerryError } from "../../../lib/errors.js";
import { Bus } from "../../../lib/index.js";
import { startRedis } from "../../helpers/redis-server.js";
import { waitFor } from "../../helpers/wait-for.js";
import { labelledRelay } from "./labelled-relay.js";

// A sender straight to Redis, a receiver (importing n:*) through a relay; the sender sends n:x 1, 2, ...
// every 100 ms until the test ends.
export async function subscriberPair(t: TestContext) {
  // Undone in reverse order: the links close before their servers stop.
  const undo: (() => unknown)[] = [];
  t.after(async () => {
    for (const step of undo.reverse()) await step();
  });
  const server = await startRedis({ own: true });
  undo.push(() => server.stop());
  const relay = await labelledRelay(server.port);
  undo.push(() => relay.close());
  const prefix = `r32-${randomUUID()}:`;
  const sender = new Bus();
  sender.on("error", () => {}); // its own subscriber's loss, at a CLIENT KILL TYPE pubsub
  const out = await RedisLink.connect({ bus: sender, connection: server.url, prefix });
  undo.push(() => out.close());
  const receiver = new Bus();
  const reports: BerryError[] = [];
  receiver.on("error", (error) => reports.push(error));
  const into = await RedisLink.connect({
    bus: receiver,
    connection: `redis://127.0.0.1:${relay.port}`,
    prefix,
    importFilters: ["n:*"],
  });
  undo.push(() => into.close());
  const got: number[] = [];
  receiver.follow("n:*", (m) => void got.push(m.args[0] as number));
  let sent = 0;
  const sending = setInterval(() => sender.twitter("n:x", ++sent), 100);
  undo.push(() => clearInterval(sending));
  await waitFor(() => got.length > 0, "a first message");
  const raw = new Redis(server.url);
  raw.on("error", () => {});
  undo.push(() => raw.disconnect());
  const lost = (): BerryError[] => reports.filter((error) => error.code === "REDIS_MESSAGES_MAY_BE_LOST");
  return { relay, got, lost, raw, sent: () => sent };
}
