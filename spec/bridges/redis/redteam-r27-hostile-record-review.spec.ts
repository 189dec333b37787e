// Review of r27 (7fe4781: expire() reads the record's sender before it takes the message out of the
// deadlines, to leave a notice its sender's inbox cannot take waiting). With another type under the
// record (`P m:<id>`, written by another client), that HGET failed, before any write, on every sweep of the
// prefix for ever: no other message timed out, no dead receiver's message was requeued, and an error was
// reported every tick. (Before r27 the ZREM came first: one sweep failed, once.) Now a record of another
// type is no message to time out: its deadline goes, and the sweep goes on.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, it } from "node:test";
import { Redis } from "ioredis";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { sleep } from "../../helpers/wait-for.js";

let redis: RedisServer;
before(async () => {
  redis = await startRedis({ own: true });
});
after(async () => {
  await redis?.stop();
});

it("review r27: a due message whose record another client made a string does not stop the prefix's sweeps", {
  timeout: 20_000,
}, async (t) => {
  const prefix = `r27r-${randomUUID()}:{durable}:`;
  const raw = new Redis(redis.url);
  const sender = await DurableChannel.open("sender", { connection: redis.url, prefix });
  t.after(async () => {
    await sender.end();
    raw.disconnect();
  });
  const errors: Error[] = [];
  sender.on("error", (e) => errors.push(e));
  const clobbered = await sender.send({ n: 1 }, { to: "worker", timeout: 100 });
  await raw.del(`${prefix}m:${clobbered.id}`);
  await raw.set(`${prefix}m:${clobbered.id}`, "hostile");
  const sent = await sender.send({ n: 2 }, { to: "worker", timeout: 300 });
  const notice = await sender.receive({ timeout: 3_000 });
  assert.equal(notice.kind, "timeout");
  assert.equal(notice.inReplyTo, sent.id);
  await sleep(500);
  assert.deepEqual(
    errors.map((e) => e.message),
    [],
  );
  assert.equal(await raw.zscore(`${prefix}deadlines`, clobbered.id), null);
});
