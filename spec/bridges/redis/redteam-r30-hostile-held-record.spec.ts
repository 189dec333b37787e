// Red team r30: another client replaced a queued message's record (`P m:<id>`) with another type (a
// string). The take moved the id into the receiver's held list, then its HMGET failed (WRONGTYPE): the
// receive() rejected, and the id stayed held. The requeue of that receiver (its end(), or the sweep once
// its lease ran out) read every held record the same way and failed there, before any write, each time:
// what else the receiver held was never given back, and every sweep of the prefix failed from then on,
// for ever (no timeout notice for any channel of the prefix, no dead receiver requeued, an error each
// tick). A record of another type is no message: the take drops its id (reported, as a record without
// fields), and the requeue leaves it out of what it gives back.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import type { BerryError } from "../../../lib/errors.js";
import { redisWithRawClient } from "../../helpers/redis-server.js";
import { sleep } from "../../helpers/wait-for.js";

const redis = redisWithRawClient();

it("red team: a queued message whose record another client made a string: the other messages and the sweeps go on", {
  timeout: 30_000,
}, async (t) => {
  const prefix = `r30-${randomUUID()}:{durable}:`;
  const options = { connection: redis.server.url, prefix, lease: 300 };
  const sender = await DurableChannel.open("s", options);
  const worker = await DurableChannel.open("w", options);
  t.after(() => sender.end());
  t.after(() => worker.end());
  const errors: BerryError[] = [];
  for (const channel of [sender, worker]) channel.on("error", (error) => void errors.push(error));
  const held = await sender.send("held", { to: "w" });
  const clobbered = await sender.send("clobbered", { to: "w" });
  const after = await sender.send("after", { to: "w" });
  await redis.raw.del(`${prefix}m:${clobbered.id}`);
  await redis.raw.set(`${prefix}m:${clobbered.id}`, "hostile");
  const first = await worker.receive({ timeout: 3_000 });
  assert.equal(first.id, held.id);
  const second = await worker.receive({ timeout: 3_000 }).catch((error: unknown) => error);
  assert.ok(!(second instanceof Error), `the next message is received (${String(second)})`);
  assert.equal((second as { id: string }).id, after.id, "the clobbered one is skipped");
  await worker.end();
  const next = await DurableChannel.open("w", options);
  t.after(() => next.end());
  next.on("error", (error) => void errors.push(error));
  const back = await next.receive({ timeout: 3_000 });
  assert.deepEqual(new Set([back.id]), new Set([held.id]), "what the ended receiver held is given back");
  // Its record made a string while held: a close is answered NotHeldError (before: WRONGTYPE, from the batch).
  await redis.raw.del(`${prefix}m:${back.id}`);
  await redis.raw.set(`${prefix}m:${back.id}`, "hostile");
  await assert.rejects(next.close(back), { code: "NOT_HELD" });
  const lost = await sender.send("lost", { to: "nobody", timeout: 300 });
  const notice = await sender.receive({ timeout: 3_000 });
  assert.deepEqual([notice.kind, notice.inReplyTo], ["timeout", lost.id], "the sweeps time messages out");
  await sleep(300);
  assert.deepEqual(
    errors.map((error) => error.message).filter((message) => !message.includes(clobbered.id)),
    [],
    "nothing else reported",
  );
  assert.ok(
    errors.some((error) => error.code === "INVALID_ENVELOPE" && error.message.includes(clobbered.id)),
    "the clobbered record is reported, with its id",
  );
});

it("red team: a send whose id another client wrote a string under is refused alone; the sends batched with it are recorded and answered", async (t) => {
  const prefix = `r30-${randomUUID()}:{durable}:`;
  const options = { connection: redis.server.url, prefix };
  const sender = await DurableChannel.open("s", options);
  const worker = await DurableChannel.open("w", options);
  t.after(() => Promise.all([sender.end(), worker.end()]));
  await redis.raw.set(`${prefix}m:taken-id`, "hostile");
  // One tick: one batched SEND call.
  const [before, refused, after] = await Promise.allSettled([
    sender.send("before", { to: "w" }),
    sender.send("refused", { to: "w", id: "taken-id" }),
    sender.send("after", { to: "w" }),
  ]);
  assert.equal(before.status, "fulfilled", String((before as PromiseRejectedResult).reason));
  assert.equal(after.status, "fulfilled", String((after as PromiseRejectedResult).reason));
  assert.equal(refused.status, "rejected");
  assert.equal(((refused as PromiseRejectedResult).reason as BerryError).code, "INVALID_ARGUMENT");
  const got = [await worker.receive({ timeout: 3_000 }), await worker.receive({ timeout: 3_000 })];
  assert.deepEqual(
    got.map((message) => message.content),
    ["before", "after"],
  );
  await Promise.all(got.map((message) => worker.close(message)));
});
