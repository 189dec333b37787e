// Red team (r20): close() while Redis is hung (SIGSTOP: connected, answering nothing). The QUITs were
// awaited with no bound: close() never returned.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { closeClient, openClient } from "../../../bridges/redis/connection.js";
import { RedisLink } from "../../../bridges/redis/redis-link.js";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import { type BerryError, QueueClosedError } from "../../../lib/errors.js";
import { startRedis } from "../../helpers/redis-server.js";
import { settlesWithin, sleep, waitFor } from "../../helpers/wait-for.js";

/** The close reported that Redis did not answer and the connections were cut. */
function assertSaidItCut(errors: readonly BerryError[]): void {
  assert.ok(
    errors.some((error) => error.code === "REDIS_COMMAND_FAILED" && /did not answer/.test(error.message)),
    errors.map((error) => error.message).join("; "),
  );
}

// The tests run at once: each has a redis-server of its own, and most of their time is waiting for a
// close's bound (the longest, over 31 s, is the point of its test).
describe("red team r20: closes on a hung Redis", { concurrency: true }, () => {
  // Over the client (replylessPublish: false) the PUBLISH waits for an answer: the message is given back
  // undelivered. The replyless socket (the default) takes it at once, unanswered by design: close() waits
  // closeTimeout for the sync, then reports the batch unconfirmed (it cannot give back messages it wrote).
  // closeTimeout 200 ms (default 2,000): the close's bound is 5 s + closeTimeout, whatever it is.
  for (const replylessPublish of [false, "auto"] as const) {
    it(`red team: RedisLink.close() returns while Redis is hung, says it cut the connections, and gives back or reports what it could not send (replylessPublish ${replylessPublish})`, async () => {
      const own = await startRedis({ own: true });
      const bus = new Bus();
      const link = await RedisLink.connect({
        bus,
        connection: own.url,
        prefix: `rt20-${randomUUID()}:`,
        importFilters: ["s:*"],
        exportFilters: ["s:*"],
        replylessPublish,
        closeTimeout: 200,
      });
      const errors: BerryError[] = [];
      link.on("error", (error) => void errors.push(error));
      const pid = own.pid as number;
      process.kill(pid, "SIGSTOP");
      try {
        bus.twitter("s:x", 1);
        const closing = link.close();
        assert.ok(await settlesWithin(closing, 30_000), "close() returns while Redis is hung");
        const undelivered = (await closing).undelivered.map((message) => message.args[0]);
        if (replylessPublish === false) assert.deepEqual(undelivered, [1]);
        else {
          assert.deepEqual(undelivered, []);
          assert.ok(
            errors.some((error) => /confirming 1 published batches before close/.test(error.message)),
            "the unconfirmed batch reported",
          );
        }
        assertSaidItCut(errors);
      } finally {
        process.kill(pid, "SIGCONT");
        await own.stop();
      }
    });
  }

  // Found by the r21 red team: the Subscriber's own 30 s QUIT bound (SUBSCRIBER_CLOSE_GRACE) ended the
  // close first when closeTimeout + 5 s outlasted it, and the link then said nothing of the cut.
  it("red team: RedisLink.close() with a closeTimeout of 26 s on a hung Redis still says it cut the connections", async () => {
    const own = await startRedis({ own: true });
    const link = await RedisLink.connect({
      bus: new Bus(),
      connection: own.url,
      prefix: `rt21-${randomUUID()}:`,
      importFilters: ["s:*"],
      replylessPublish: false,
      closeTimeout: 26_000,
    });
    const errors: BerryError[] = [];
    link.on("error", (error) => void errors.push(error));
    const pid = own.pid as number;
    process.kill(pid, "SIGSTOP");
    try {
      assert.ok(await settlesWithin(link.close(), 40_000), "close() returns while Redis is hung");
      assertSaidItCut(errors);
    } finally {
      process.kill(pid, "SIGCONT");
      await own.stop();
    }
  });

  // Found in the r21 review: the close's bound (5 s + closeTimeout) passed 2^31-1 ms with the largest
  // closeTimeout allowed, and Node fires such a timer at once: a healthy Redis was cut and reported hung.
  it("RedisLink.close() with closeTimeout 2^31-1 ms on a healthy Redis closes cleanly, reporting nothing", async () => {
    const own = await startRedis({ own: true });
    const link = await RedisLink.connect({
      bus: new Bus(),
      connection: own.url,
      prefix: `rt21-${randomUUID()}:`,
      closeTimeout: 2_147_483_647,
    });
    const errors: BerryError[] = [];
    link.on("error", (error) => void errors.push(error));
    await link.close();
    await own.stop();
    assert.deepEqual(
      errors.map((error) => error.message),
      [],
    );
  });

  it("red team: RedisQueue.close() returns while Redis is hung (a get() blocked in BLPOP), says it cut the connections, and the get() rejects with QueueClosedError", async () => {
    const own = await startRedis({ own: true });
    const queue = new RedisQueue(`rt20-${randomUUID()}:*`, { bus: new Bus(), connection: own.url });
    const errors: BerryError[] = [];
    queue.on("error", (error) => void errors.push(error));
    await queue.qsize(); // connected
    const getting = queue.get().catch((error: unknown) => error);
    await sleep(200); // its BLPOP blocks on the empty list
    const pid = own.pid as number;
    process.kill(pid, "SIGSTOP");
    try {
      assert.ok(await settlesWithin(queue.close(), 30_000), "close() returns while Redis is hung");
      assert.ok((await getting) instanceof QueueClosedError, String(await getting));
      assertSaidItCut(errors);
    } finally {
      process.kill(pid, "SIGCONT");
      await own.stop();
    }
  });

  it("closeClient (public in berrymq/redis) returns while Redis is hung: the QUIT has no answer within its grace, the connection is cut", async () => {
    const own = await startRedis({ own: true });
    const client = openClient(own.url);
    await client.ping();
    const pid = own.pid as number;
    process.kill(pid, "SIGSTOP");
    try {
      const started = performance.now();
      const closing = closeClient(client, 300);
      assert.ok(await settlesWithin(closing, 10_000), "closeClient returns while Redis is hung");
      assert.ok(performance.now() - started >= 250, "it waited for the QUIT's answer first");
      await waitFor(() => client.status === "end", "the connection cut", 5_000);
    } finally {
      process.kill(pid, "SIGCONT");
      await own.stop();
    }
  });
});
