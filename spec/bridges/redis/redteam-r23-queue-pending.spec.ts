// Red team (r23): a RedisQueue fed while Redis is down held every push in memory, unbounded (100,000
// messages of 1 KB: +338 MB of heap, none failed 30 s later). Pushes waiting for Redis are now bounded by
// `maxPending` (default 10,000); a message past it is counted in stats.failed and reported, naming it.
import assert from "node:assert/strict";
import { it } from "node:test";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { waitFor } from "../../helpers/wait-for.js";
import { queueWhileDown } from "./while-down.js";

it("red team: pushes waiting for a Redis that is down are bounded by maxPending; those past it are reported by messageId, the others pushed once Redis is back", {
  timeout: 60_000,
}, async (t) => {
  const { own, bus, queue, errors } = await queueWhileDown(t, "rt23", 100);
  for (let i = 0; i < 150; i++) bus.twitter("job:down", i);
  assert.equal(queue.stats.failed, 50, "the 50 past the bound are refused at once");
  const refused = errors.flatMap((error) => {
    const about = (error as { dropped?: { messageId: string } }).dropped;
    return about !== undefined && error.message.includes("maxPending") ? [about.messageId] : [];
  });
  assert.equal(new Set(refused).size, 50, "each reported, naming its message");
  await own.restart();
  await waitFor(() => queue.stats.pushed === 100, "the 100 held pushed once Redis is back", 30_000);
  assert.equal(await queue.qsize(), 100);
  assert.throws(() => new RedisQueue("job:*", { bus, connection: own.url, maxPending: 0 }), /maxPending/);
});
