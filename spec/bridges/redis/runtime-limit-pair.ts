// The r31 specs of a RedisLink whose Redis refuses a batch at run time: a sending link and a receiving one
// (importing `n:*`) on one fresh prefix, and the three messages those specs send past a lowered limit.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { TestContext } from "node:test";
import { RedisLink } from "../../../bridges/redis/index.js";
import type { BerryError } from "../../../lib/errors.js";
import { Bus } from "../../../lib/index.js";

/** Where each link connects, and how the sender publishes. */
export interface PairOptions {
  sender: string;
  receiver?: string;
  replylessPublish?: "auto" | false;
}

/**
 * A sending link and a receiving one, closed after the test (after hooks run in the order they were added:
 * add a server's stop after this); what the receiver got, the sender's reports and the receiver's.
 */
export async function linkedPair(t: TestContext, options: PairOptions) {
  const prefix = `r31-${randomUUID()}:`;
  const sender = new Bus();
  const reports: BerryError[] = [];
  sender.on("error", (error) => reports.push(error));
  const out = await RedisLink.connect({
    bus: sender,
    connection: options.sender,
    prefix,
    replylessPublish: options.replylessPublish ?? "auto",
    retryDelay: { initial: 20, max: 100 },
  });
  t.after(() => out.close());
  const receiver = new Bus();
  const received: BerryError[] = [];
  receiver.on("error", (error) => received.push(error));
  const into = await RedisLink.connect({
    bus: receiver,
    connection: options.receiver ?? options.sender,
    prefix,
    importFilters: ["n:*"],
  });
  t.after(() => into.close());
  const got: number[] = [];
  receiver.follow("n:*", (m) => void got.push(m.args[0] as number));
  const unsendable = (): BerryError[] => reports.filter((error) => error.code === "UNSENDABLE");
  return { sender, out, into, got, reports, received, unsendable };
}

/** Messages 1 (1.1 MB, over a limit of 1 MB), 2 (`second` bytes, under it) and 3. */
export function sendPastLimit(sender: Bus, second = 1_000_000): void {
  sender.twitter("n:x", 1, "x".repeat(1_100_000));
  sender.twitter("n:x", 2, "y".repeat(second));
  sender.twitter("n:x", 3);
}

/** One message reported unsendable, its report matching `why`, and counted lost. */
export function oneReportedLost(pair: Awaited<ReturnType<typeof linkedPair>>, why: RegExp): void {
  const unsendable = pair.unsendable();
  assert.equal(unsendable.length, 1, `one report: ${pair.reports.map((error) => error.message)}`);
  assert.match(unsendable[0]?.message ?? "", why);
  assert.equal(pair.out.stats.lost, 1);
}
