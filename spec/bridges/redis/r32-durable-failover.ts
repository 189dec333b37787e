// Red team r32: a DurableChannel stream across a master failover while a worker process that holds
// messages (taken, not answered) is SIGKILLed: every acknowledged send gets exactly one outcome.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { RedisConnection } from "../../../bridges/redis/connection.js";
import { DurableChannel, type SentMessage } from "../../../bridges/redis/durable-channel.js";
import type { DurableMessage } from "../../../bridges/redis/durable-message.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { runFixture } from "./fixtures/run-fixture.js";

/** What the stream needs of a server shape. */
export interface FailoverTarget {
  connection(): RedisConnection;
  /** SIGKILLs the master serving `key`, waits for the promotion, brings it back; resolves to ms to promotion. */
  killMaster(key: string): Promise<number>;
}

/**
 * Sends 400 messages (12 s timeout, 20 on their way) to two worker processes of one channel (lease 1 s):
 * a slow one (400 ms a message, holding what it took) SIGKILLed at send 100, when the master is killed
 * too, and a fast one. Asserts: no send rejected, one outcome (reply or timeout notice) per acknowledged
 * send, every reply closed, the fast worker ends on its stop message. `durability` for every side.
 */
export async function durableStreamAcrossFailover(target: FailoverTarget, durability: { replicas: number; timeout: number } | undefined, cleanup: (fn: () => Promise<void>) => void) {
  const prefix = `r32-${randomUUID()}:{r32fo}:`;
  const arg = JSON.stringify(target.connection());
  const sender = await DurableChannel.open("r32-sender", { connection: target.connection(), prefix, ...(durability ? { durability } : {}) });
  const errors: string[] = [];
  sender.on("error", (error) => void errors.push(`${error.code}: ${error.message}`));
  const durabilityArg = durability ? JSON.stringify(durability) : "";
  // Slow worker (holds messages), killed -9 mid-stream; fast worker, alive throughout. Lease 1 s.
  const slow = runFixture("durable-worker.ts", [arg, prefix, "r32-worker", "reply", "1000", "400", durabilityArg]);
  const fast = runFixture("durable-worker.ts", [arg, prefix, "r32-worker", "reply", "1000", "", durabilityArg]);
  let stopped = false;
  cleanup(async () => {
    stopped = true;
    await slow.kill();
    await fast.kill();
    await sender.end().catch(() => undefined);
  });
  await slow.line("ready");
  await fast.line("ready");
  const outcomes = new Map<string, DurableMessage[]>();
  const acknowledged = new Map<string, SentMessage>();
  const rejected: string[] = [];
  const closeErrors: string[] = [];
  let receiving = true;
  const collector = (async () => {
    while (!stopped && receiving) {
      let message: DurableMessage;
      try {
        message = await sender.receive({ timeout: 500 });
      } catch {
        continue;
      }
      const about = message.inReplyTo ?? "";
      outcomes.set(about, [...(outcomes.get(about) ?? []), message]);
      await sender.close(message).catch((error: unknown) => void closeErrors.push(String(error)));
    }
  })();
  const total = 400;
  let killing: Promise<number> | undefined;
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < total; i++) {
    if (i === 100) {
      await slow.kill();
      killing = target.killMaster(prefix);
    }
    const send = sender
      .send({ i }, { to: "r32-worker", timeout: 12_000, id: randomUUID() })
      .then(
        (sent) => void acknowledged.set(sent.id, sent),
        (error: unknown) => void rejected.push(String(error)),
      )
      .finally(() => inFlight.delete(send));
    inFlight.add(send);
    if (inFlight.size >= 20) await Promise.race(inFlight);
    if (i % 10 === 9) await sleep(10);
  }
  await Promise.all(inFlight);
  const promotion = await killing;
  await waitFor(() => [...acknowledged.keys()].every((id) => outcomes.has(id)), "an outcome for every acknowledged send", 20_000).catch(() => undefined);
  await sleep(500);
  receiving = false;
  await collector;
  await sender.send("stop", { to: "r32-worker" });
  const exited = await Promise.race([fast.exit(), sleep(10_000).then(() => "still running")]);
  const duplicates = [...outcomes]
    .filter(([, list]) => list.length > 1)
    .map(([id, list]) => `${id}: ${list.map((m) => `${m.kind} (attempt ${m.attempts})`).join(", ")}`);
  const lost = [...acknowledged.keys()].filter((id) => !outcomes.has(id));
  const timeouts = [...outcomes.values()].filter((list) => list[0]?.kind === "timeout").length;
  console.log(`# promotion ${promotion} acknowledged ${acknowledged.size} rejected ${rejected.length} lost ${lost.length} duplicates ${duplicates.length} timeouts ${timeouts} closeErrors ${closeErrors.length} errors ${errors.join(" | ")}`);
  assert.deepEqual(rejected, [], "sends rejected");
  assert.equal(exited, 0, "the worker ended on its stop message");
  assert.equal(acknowledged.size, total);
  assert.deepEqual(lost, [], "acknowledged sends without an outcome");
  assert.deepEqual(duplicates, [], "messages with more than one outcome");
  assert.deepEqual(closeErrors, [], "replies the sender could not close");
}
