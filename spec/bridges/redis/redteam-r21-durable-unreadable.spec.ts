// Red team (r21): a durable record with every field but content no receiver can read (written by another
// client sharing the prefix). Each receiver that took it reported it and held it; ending (or dying) gave
// it back to the channel, and the next receiver took it and reported it again, for ever.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import type { BerryError } from "../../../lib/errors.js";
import { redisWithRawClient } from "../../helpers/redis-server.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

const redis = redisWithRawClient();

const unreadable: [string, Record<string, string>][] = [
  ["content that is not JSON", { kind: "message", content: "{not json" }],
  ["an unknown kind", { kind: "bogus", content: "1" }],
  ["content with a __proto__ key", { kind: "message", content: '{"__proto__": {"polluted": 1}}' }],
];

for (const [what, fields] of unreadable)
  it(`red team: a record with ${what}, written with raw commands, is reported once with its id by the first receiver and marked invalid; the next receiver never gets it`, async () => {
    const prefix = `rt21-${randomUUID()}:{durable}:`;
    const id = `junk-${randomUUID()}`;
    const errors: BerryError[] = [];
    const first = await DurableChannel.open("w", { connection: redis.server.url, prefix });
    first.on("error", (error) => void errors.push(error));
    const receiving = first.receive({ timeout: 1_000 }).catch((error: unknown) => error);
    await sleep(200); // the pump blocks in BLMOVE
    await redis.raw
      .multi()
      .hset(`${prefix}m:${id}`, {
        from: "intruder",
        to: "w",
        inReplyTo: "",
        deadline: "0",
        state: "queued",
        attempts: "0",
        sent: "1",
        ...fields,
      })
      .rpush(`${prefix}in:w`, id)
      .exec();
    await waitFor(() => errors.length > 0, "the first receiver's report", 5_000);
    await receiving;
    await first.end(); // gives back what it held
    const second = await DurableChannel.open("w", { connection: redis.server.url, prefix });
    second.on("error", (error) => void errors.push(error));
    const sender = await DurableChannel.open("s", { connection: redis.server.url, prefix });
    try {
      await sender.send("good", { to: "w" });
      // Before: the second receiver took the record again (and reported it again) before "good".
      const got = await second.receive({ timeout: 3_000 });
      assert.equal(got.content, "good");
      await second.close(got);
      await sleep(300);
      assert.deepEqual(
        errors.map((error) => error.code),
        ["INVALID_ENVELOPE"],
        errors.map((error) => error.message).join("; "),
      );
      assert.ok(errors[0]?.message.includes(id), errors[0]?.message);
      assert.equal(await redis.raw.hget(`${prefix}m:${id}`, "state"), "invalid");
      assert.equal(await redis.raw.lpos(`${prefix}in:w`, id), null);
    } finally {
      await Promise.all([second.end(), sender.end()]);
    }
  });
