// Red team r30 review 3: r30 read every message record through readRecord (another type under `P m:<id>`,
// written by another client, is no message), but the trim of finished records (trimFinished, run by every
// finish and by the sweep) still asked HGET of each record it dropped from `P finished`. A finished
// record past a minute made a string: the next finish that trimmed it failed with WRONGTYPE after its
// own writes (reply recorded, message finished), so reply() rejected though its reply was delivered, and
// the batch's other finishes and take never ran. Now such a record is left as it is (it is another's key).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { it } from "node:test";
import { Redis } from "ioredis";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { startRedis } from "../../helpers/redis-server.js";

it("red team: a finished record another client made a string: the next reply is answered as recorded", { timeout: 30_000 }, async (t) => {
  const server = await startRedis({ own: true });
  t.after(() => server.stop());
  const raw = new Redis(server.url);
  t.after(() => raw.disconnect());
  const prefix = `r30r3-${randomUUID()}:{durable}:`;
  const options = { connection: server.url, prefix, finishedRecords: 0 };
  const sender = await DurableChannel.open("s", options);
  const worker = await DurableChannel.open("w", options);
  t.after(() => sender.end());
  t.after(() => worker.end());
  for (const channel of [sender, worker]) channel.on("error", () => {});

  const old = await sender.send("old", { to: "w" });
  await worker.close(await worker.receive({ timeout: 3_000 }));
  // A minute on (its score in P finished, as if finished then), another client writes a string there.
  const score = Number(await raw.zscore(`${prefix}finished`, old.id));
  await raw.zadd(`${prefix}finished`, score - 120_000, old.id);
  await raw.del(`${prefix}m:${old.id}`);
  await raw.set(`${prefix}m:${old.id}`, "hostile");

  await sender.send("ask", { to: "w" });
  const ask = await worker.receive({ timeout: 3_000 });
  const replied = await worker.reply(ask, "answer").then(
    () => "ok",
    (error: unknown) => String(error),
  );
  const answer = await sender.receive({ timeout: 3_000 });
  assert.equal(answer.content, "answer", "the reply went");
  assert.equal(replied, "ok", "and reply() says so");
  assert.equal(await raw.get(`${prefix}m:${old.id}`), "hostile", "another client's key is left as it is");
});
