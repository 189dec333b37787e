// Red team r31: a RedisQueue opened on a hung Redis (SIGSTOPped: the kernel accepts, Redis answers nothing)
// with a get() in flight. close() cut the connections after its 5 s bound, as documented, and resolved; then
// the process crashed ("Connection is closed.", exit code 1). The blocking client sends CLIENT ID ahead of
// the first BLMOVE of a connection and awaited the id first: cut, the id rejected, and the BLMOVE's
// rejection, never awaited, was unhandled. The child (this file, with R31_QUEUE_HUNG set) must now exit 0 by
// itself within EXIT_BOUND ms of its close() resolving.
import assert from "node:assert/strict";
import { it } from "node:test";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import { hungRedis } from "../../helpers/hung-redis.js";
import { runSelf } from "../../helpers/self-child.js";
import { sleep } from "../../helpers/wait-for.js";

const CHILD = "R31_QUEUE_HUNG";
// Before the fix the child crashed about 200 ms after close() resolved; after it, it exits as soon.
const EXIT_BOUND = 1_500;

const given = process.env[CHILD];
if (given !== undefined) {
  const bus = new Bus();
  bus.on("error", () => {}); // close() reports the cut: expected here
  const queue = new RedisQueue("task:*", { bus, connection: given });
  const getting = queue.get({ timeout: 3_600_000 }).catch((error: unknown) => (error as Error).name);
  await sleep(100);
  await queue.close();
  bus.close();
  console.log(JSON.stringify({ get: await getting }));
} else {
  const server = hungRedis();
  it("red team: a RedisQueue closed with a get in flight on a hung Redis, the process exits 0 by itself", { timeout: 20_000 }, async () => {
    const { out, err, code, exitAfter } = await runSelf(import.meta.url, { [CHILD]: server().url }, (text) => text.includes("\n"), 15_000);
    assert.match(out, /"get":"QueueClosedError"/, `close() rejected the get: ${out}${err}`);
    assert.equal(code, 0, `the child exited ${String(code)}: ${err}`);
    assert.ok(exitAfter < EXIT_BOUND, `the child exited ${Math.round(exitAfter)} ms after close() resolved`);
  });
}
