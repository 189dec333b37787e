// Red team r27: a reply whose destination (the sender's inbox, `P in:<sender>`) another client made a
// string. Before r27 the FINISH script took the message out of the worker's held list and out of the
// deadlines before its RPUSH failed (WRONGTYPE; a script's writes before an error stay): reply() rejected,
// but the message was then in no list and had no deadline, so once the worker ended (or died) nobody got
// it again and its sender never got a timeout notice. Lost without a word. Now the script checks the
// inbox first: the reply rejects with a RedisCommandError naming the key, and nothing is written (the
// worker still holds it and can reply once the key is fixed; ended, the message goes to another worker).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, it } from "node:test";
import { RedisCommandError } from "../../../bridges/redis/errors.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { hostileInbox } from "./hostile-inbox.js";

let redis: RedisServer;
before(async () => {
  redis = await startRedis({ own: true });
});
after(async () => {
  await redis?.stop();
});

it("red team: a reply refused because another client made the sender's inbox a string loses nothing: the message stays held, then goes to the next worker", {
  timeout: 30_000,
}, async (t) => {
  const { prefix, raw, sender, open } = await hostileInbox(t, redis.url);
  const worker = await open("worker", { lease: 1_000 });
  const sent = await sender.send({ task: 1 }, { to: "worker", timeout: 4_000 });
  const task = await worker.receive({ timeout: 2_000 });
  await raw.set(`${prefix}in:sender`, "hostile");
  await assert.rejects(worker.reply(task, "done"), (error: unknown) => {
    assert.ok(error instanceof RedisCommandError, String(error));
    assert.ok(error.message.includes(`${prefix}in:sender`), error.message);
    return true;
  });
  // Nothing was written: still held by the worker, still due.
  assert.deepEqual(await raw.lrange(`${prefix}held:${worker.consumer}`, 0, -1), [sent.id]);
  assert.notEqual(await raw.zscore(`${prefix}deadlines`, sent.id), null);
  await raw.del(`${prefix}in:sender`);
  // The worker ends without replying: the message goes back, and the next worker gets it.
  await worker.end();
  const next = await open("worker");
  const again = await next.receive({ timeout: 3_000 });
  assert.equal(again.id, sent.id);
  assert.equal(again.attempts, 2);
  await next.reply(again, "done");
  const reply = await sender.receive({ timeout: 3_000 });
  assert.equal(reply.kind, "reply");
  assert.equal(reply.inReplyTo, sent.id);
});

it("red team: a send to a channel whose inbox another client made a string rejects naming the key and records nothing: resent with its id once the key is gone, it arrives", {
  timeout: 30_000,
}, async (t) => {
  const { prefix, raw, sender, open } = await hostileInbox(t, redis.url);
  const worker = await open("worker");
  await raw.set(`${prefix}in:worker`, "hostile");
  const id = randomUUID();
  await assert.rejects(sender.send({ task: 1 }, { to: "worker", id }), (error: unknown) => {
    assert.ok(error instanceof RedisCommandError, String(error));
    assert.ok(error.message.includes(`${prefix}in:worker`), error.message);
    return true;
  });
  assert.equal(await raw.exists(`${prefix}m:${id}`), 0, "nothing recorded");
  await raw.del(`${prefix}in:worker`);
  await sender.send({ task: 1 }, { to: "worker", id });
  const task = await worker.receive({ timeout: 2_000 });
  assert.equal(task.id, id);
});

it("red team: a timeout notice whose sender's inbox another client made a string waits, still due, and arrives once the key is gone", {
  timeout: 30_000,
}, async (t) => {
  const { prefix, raw, sender } = await hostileInbox(t, redis.url);
  const errors: unknown[] = [];
  sender.on("error", (error) => errors.push(error));
  const sent = await sender.send({ task: 1 }, { to: "nobody", timeout: 200 });
  await raw.set(`${prefix}in:sender`, "hostile");
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.notEqual(await raw.zscore(`${prefix}deadlines`, sent.id), null, "still due: no notice could be queued");
  await raw.del(`${prefix}in:sender`);
  const notice = await sender.receive({ timeout: 3_000 });
  assert.equal(notice.kind, "timeout");
  assert.equal(notice.inReplyTo, sent.id);
  assert.deepEqual(errors, []);
});
