// Red team (r24): a send() past maxPending (Redis away) rejected with a RedisCommandError that named the
// message's id in its text only, under the code of a failed command (nothing failed in Redis). It now
// rejects with DurableOverflowError (DURABLE_OVERFLOW), the overflow convention of the project: the
// message not sent is `dropped` ({ to, messageId }), and `messageId` is a property, to resend it with.
import assert from "node:assert/strict";
import { it } from "node:test";
import { DurableOverflowError } from "../../../bridges/redis/errors.js";
import { sendsWhileDown } from "./while-down.js";

it("red team: a send past maxPending rejects with DurableOverflowError carrying the message's id and channel", {
  timeout: 60_000,
}, async (t) => {
  const { own, sender, worker, ids, outcomes } = await sendsWhileDown(t, "r24", 5, 8);
  const past = await Promise.all(outcomes.slice(5));
  for (const [i, outcome] of past.entries()) {
    const id = ids[5 + i] as string;
    assert.ok(outcome instanceof DurableOverflowError, String(outcome));
    assert.equal(outcome.code, "DURABLE_OVERFLOW");
    assert.equal(outcome.messageId, id);
    assert.deepEqual(outcome.dropped, { to: "worker", messageId: id });
    assert.equal(outcome.maxPending, 5);
    assert.ok(outcome.message.includes(id), outcome.message);
  }
  await own.restart();
  assert.deepEqual(await Promise.all(outcomes.slice(0, 5)), Array(5).fill("sent"), "the 5 held are sent once Redis is back");
  // Resent with their ids, the dropped ones are sent: nothing was recorded for them before.
  for (const [i, id] of ids.slice(5).entries()) await sender.send(5 + i, { to: "worker", id });
  const received = new Set<unknown>();
  for (let i = 0; i < 8; i++) received.add((await worker.receive({ timeout: 5_000 })).id);
  assert.deepEqual([...received].sort(), [...ids].sort());
});
