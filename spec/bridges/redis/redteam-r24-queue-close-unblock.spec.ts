// Red team (r24): RedisQueue.close() with a get() blocked in BLPOP first sends CLIENT UNBLOCK, and waited
// for its answer with nothing to cut it short: when Redis died with that command on its way (hung first,
// then killed), ioredis kept it for a resend on a reconnection that close() prevents, and close() never
// returned, even after its 5 s grace had cut the connections. The UNBLOCK is now raced against the cut.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { it } from "node:test";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import { type BerryError, QueueClosedError } from "../../../lib/errors.js";
import { clientsNamed } from "../../helpers/redis-clients.js";
import { startRedis } from "../../helpers/redis-server.js";
import { settlesWithin, sleep } from "../../helpers/wait-for.js";

it("red team: RedisQueue.close() returns when Redis dies with its CLIENT UNBLOCK on the way", {
  timeout: 60_000,
}, async (t) => {
  const own = await startRedis({ own: true });
  t.after(() => own.stop());
  const name = `rt24-${randomUUID()}`;
  const queue = new RedisQueue("job:*", { bus: new Bus(), connection: own.url, name, feed: false });
  const errors: BerryError[] = [];
  queue.on("error", (error) => void errors.push(error));
  const getting = queue.get().catch((error: unknown) => error);
  for (let i = 0; ; i++) {
    const blocked = await clientsNamed(own.port, `berrymq-queue-block:${name}`);
    if (blocked.some((line) => line.includes("cmd=blmove"))) break;
    assert.ok(i < 250, "the get() blocks in BLPOP");
    await sleep(20);
  }
  process.kill(own.pid as number, "SIGSTOP");
  const closing = queue.close(); // its CLIENT UNBLOCK waits in the socket of a Redis that answers nothing
  await sleep(300);
  await own.kill(); // SIGKILL: the connections break with the UNBLOCK on its way
  assert.ok(await settlesWithin(closing, 20_000), "close() returns");
  assert.ok((await getting) instanceof QueueClosedError, String(await getting));
});
