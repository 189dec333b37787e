// Red team (r25): a RedisQueue fed past `maxPending` while Redis was away reported each refused message as a
// RedisCommandError (REDIS_COMMAND_FAILED) whose text said "maxPending": the code of a failed command,
// though nothing failed in Redis, and the message itself was gone. It is now a RedisQueueOverflowError
// (REDIS_QUEUE_OVERFLOW, the overflow convention of DurableOverflowError) carrying the message whole
// (`refused`, to send again), `dropped` ({ id, messageId }) and `maxPending`.
import assert from "node:assert/strict";
import { it } from "node:test";
import { RedisQueueOverflowError } from "../../../bridges/redis/index.js";
import { waitFor } from "../../helpers/wait-for.js";
import { queueWhileDown } from "./while-down.js";

it("red team: a RedisQueue push past maxPending is reported as RedisQueueOverflowError with the message whole", {
  timeout: 60_000,
}, async (t) => {
  const { own, bus, queue, errors } = await queueWhileDown(t, "rt25", 3);
  for (let i = 0; i < 5; i++) bus.twitter("job:down", { n: i });
  assert.equal(queue.stats.failed, 2, "the 2 past the bound are refused at once");
  const overflows = errors.filter((error) => error instanceof RedisQueueOverflowError);
  assert.equal(overflows.length, 2, errors.map((error) => `${error.code}: ${error.message}`).join("\n"));
  for (const [i, error] of overflows.entries()) {
    assert.equal(error.code, "REDIS_QUEUE_OVERFLOW");
    assert.equal(error.maxPending, 3);
    assert.equal(error.refused.id, "job:down");
    assert.deepEqual(error.refused.args, [{ n: 3 + i }], "the message refused, whole");
    assert.deepEqual(error.dropped, { id: "job:down", messageId: error.refused.messageId });
    assert.ok(error.message.includes(error.refused.messageId), error.message);
    assert.ok(error.message.includes(queue.key), error.message);
  }
  await own.restart();
  await waitFor(() => queue.stats.pushed === 3, "the 3 held pushed once Redis is back", 30_000);
  // A refused message sent again once Redis is back is queued like any other.
  const refused = (overflows[0] as RedisQueueOverflowError).refused;
  bus.twitter(refused.id, ...refused.args);
  await waitFor(() => queue.stats.pushed === 4, "the refused message fed again is queued", 30_000);
  assert.equal(await queue.qsize(), 4);
});
