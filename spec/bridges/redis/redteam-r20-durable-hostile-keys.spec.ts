// Red team (r20): another client sharing the durable channel's prefix writes records and keys of its own
// (a non-numeric deadline or lease, a record without fields, a key of another type). The scripts used
// them as numbers, strings or lists: a Lua error failed the whole take (what it had taken stayed held by
// a receiver that never got it) or every sweep of the prefix, for ever (no timeout notice, no requeue).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { it } from "node:test";
import type { Redis } from "ioredis";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import type { DurableMessage } from "../../../bridges/redis/durable-message.js";
import { RedisCommandError } from "../../../bridges/redis/errors.js";
import type { BerryError } from "../../../lib/errors.js";
import { redisWithRawClient } from "../../helpers/redis-server.js";
import { sleep } from "../../helpers/wait-for.js";

const redis = redisWithRawClient();

/** A record as the SEND script writes it, by another client. */
function record(to: string, content: unknown, deadline: string): Record<string, string | number> {
  return { from: "intruder", to, kind: "message", content: JSON.stringify(content), inReplyTo: "", deadline, state: "queued", attempts: 0, sent: 1 };
}

it("red team: a take meeting a record with a non-numeric deadline, or one without fields, after a good message: every good message reaches a receive(), the bad one is reported", async () => {
  const prefix = `rt20-${randomUUID()}:{durable}:`;
  const worker = await DurableChannel.open("w", { connection: redis.server.url, prefix });
  const sender = await DurableChannel.open("s", { connection: redis.server.url, prefix });
  const errors: BerryError[] = [];
  worker.on("error", (error) => void errors.push(error));
  try {
    const got: unknown[] = [];
    const failed: unknown[] = [];
    const receives = [0, 1, 2, 3].map(() =>
      worker.receive({ timeout: 4_000 }).then(
        (message: DurableMessage) => void got.push(message.content),
        (error: unknown) => void failed.push(error),
      ),
    );
    await sleep(300); // the pump blocks in BLMOVE for the 4 receive()s
    // One transaction: the BLMOVE moves "good", and its take (for 4) finds the bad records behind it.
    await redis.raw
      .multi()
      .hset(`${prefix}m:good`, record("w", "good", "0"))
      .hset(`${prefix}m:junk-deadline`, record("w", "junk-deadline", "soon"))
      .hset(`${prefix}m:no-fields`, { state: "queued" })
      .rpush(`${prefix}in:w`, "good", "junk-deadline", "no-fields")
      .exec();
    await sleep(300);
    await sender.send(2, { to: "w" });
    await sender.send(3, { to: "w" });
    await Promise.all(receives);
    // Before: the take failed ("attempt to compare number with nil"): every receive() rejected with it,
    // and "good", marked taken by this receiver, was given to none.
    assert.deepEqual(failed, []);
    assert.deepEqual([...got].sort(), [2, 3, "good", "junk-deadline"].sort());
    assert.ok(
      errors.some((error) => error.code === "INVALID_ENVELOPE" && error.message.includes("no-fields")),
      errors.map((error) => error.message).join("; "),
    );
    // Not held any more, and never given again.
    assert.deepEqual(await redis.raw.lrange(`${prefix}held:${worker.consumer}`, 0, -1).then((ids) => ids.filter((id) => id === "no-fields")), []);
  } finally {
    await Promise.all([worker.end(), sender.end()]);
  }
});

// Each written by another client, with no record of the last sweep (as after a failover: the next sweep
// extends every lease). Before, each failed every sweep of the prefix: no timeout notice, no requeue.
const hostile: [string, (multi: ReturnType<Redis["multi"]>, prefix: string) => unknown][] = [
  ["a lease that is not a number", (multi, p) => multi.hset(`${p}consumers`, "ghost", "x").hset(`${p}leases`, "ghost", "soon")],
  [
    "a dead receiver holding a record without a channel",
    (multi, p) =>
      multi.hset(`${p}consumers`, "ghost", "x").hset(`${p}leases`, "ghost", 0).hset(`${p}m:orphan`, { state: "taken" }).rpush(`${p}held:ghost`, "orphan"),
  ],
  [
    "a dead receiver whose held list is a string",
    (multi, p) => multi.hset(`${p}consumers`, "ghost", "x").hset(`${p}leases`, "ghost", 0).set(`${p}held:ghost`, "not a list"),
  ],
];

for (const [name, write] of hostile) {
  it(`red team: ${name}: the sweep still times messages out, and the dead receiver is gone`, async () => {
    const prefix = `rt20-${randomUUID()}:{durable}:`;
    const sender = await DurableChannel.open("s", { connection: redis.server.url, prefix, sweepInterval: 50 });
    const errors: BerryError[] = [];
    sender.on("error", (error) => void errors.push(error));
    try {
      const multi = redis.raw.multi();
      write(multi, prefix);
      await multi.del(`${prefix}swept`).exec();
      await sender.send("lost", { to: "nobody", timeout: 200 });
      const notice = await sender.receive({ timeout: 3_000 });
      assert.equal(notice.kind, "timeout");
      assert.equal(notice.content, "lost");
      await sender.close(notice);
      assert.deepEqual(
        errors.map((error) => error.message),
        [],
      );
      assert.deepEqual(await redis.raw.hkeys(`${prefix}consumers`), [sender.consumer]);
    } finally {
      await sender.end();
    }
  });
}

it("red team: the inbox or the held list overwritten with a string: send() and receive() reject with a typed RedisCommandError, and work again once the key is gone", async () => {
  const prefix = `rt20-${randomUUID()}:{durable}:`;
  const worker = await DurableChannel.open("w", { connection: redis.server.url, prefix });
  const sender = await DurableChannel.open("s", { connection: redis.server.url, prefix });
  // Before: Redis's own ReplyError, with no BerryError code.
  const wrongType = (error: BerryError): boolean =>
    error instanceof RedisCommandError && error.code === "REDIS_COMMAND_FAILED" && /WRONGTYPE/.test(error.message);
  try {
    await redis.raw.set(`${prefix}in:w`, "not a list");
    await assert.rejects(sender.send("refused", { to: "w" }), wrongType);
    await assert.rejects(worker.receive({ timeout: 3_000 }), wrongType);
    await redis.raw.del(`${prefix}in:w`);
    // A message waits in the inbox: the take moving it into a held list that is a string fails.
    await sender.send("queued", { to: "w" });
    await redis.raw.set(`${prefix}held:${worker.consumer}`, "not a list");
    await assert.rejects(worker.receive({ timeout: 3_000 }), wrongType);
    await redis.raw.del(`${prefix}held:${worker.consumer}`);
    const message = await worker.receive({ timeout: 3_000 });
    assert.equal(message.content, "queued");
    await worker.close(message);
  } finally {
    await Promise.all([worker.end(), sender.end()]);
  }
});

it("red team: a record another client wrote under a send's id, with a non-numeric sent time: the other sends of the batch still get their own sentAt and deadline", async () => {
  const prefix = `rt20-${randomUUID()}:{durable}:`;
  const sender = await DurableChannel.open("s", { connection: redis.server.url, prefix });
  try {
    await redis.raw.hset(`${prefix}m:order-42`, { sent: "junk", deadline: "junk" });
    // One tick: one batch, one SEND script run.
    const [first, second] = await Promise.all([
      sender.send("first", { to: "w", id: "order-42" }),
      sender.send("second", { to: "w", timeout: 60_000 }),
    ]);
    assert.equal(first.id, "order-42");
    // Before: the nil left a hole in the script's answer, so the second read the first's (NaN, or none).
    assert.ok(Number.isInteger(second.sentAt) && second.sentAt > 0, String(second.sentAt));
    assert.equal(second.deadline, second.sentAt + 60_000);
  } finally {
    await sender.end();
  }
});
