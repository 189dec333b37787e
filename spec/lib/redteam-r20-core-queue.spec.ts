// Red team r20: gets abandoned in bulk (timeouts, aborts). An abandoned get was spliced out of the
// waiters at O(waiters) each; now it is marked and dropped in one pass once most are abandoned. These
// specs pin what must not change: order, no message given to an abandoned get, close() of a shared queue.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type BerryError,
  Bus,
  InvalidArgumentError,
  Queue,
  QueueClosedError,
  QueueOverflowError,
  QueueTimeoutError,
} from "../../lib/index.js";

describe("gets abandoned in bulk", () => {
  it("after thousands of aborted gets, messages go to the gets still waiting, oldest first, none lost", async () => {
    const bus = new Bus();
    const queue = new Queue("bulk:*", { bus });
    const live: Promise<number>[] = [];
    const aborted: Promise<unknown>[] = [];
    const controllers: AbortController[] = [];
    // 3,000 abandoned among 1,000 waiting, interleaved: compaction runs several times meanwhile.
    for (let i = 0; i < 4_000; i++) {
      if (i % 4 === 3) {
        live.push(queue.get().then((message) => message.args[0] as number));
      } else {
        const controller = new AbortController();
        controllers.push(controller);
        aborted.push(queue.get({ signal: controller.signal }).then(() => "delivered", (error: unknown) => error));
      }
    }
    for (const controller of controllers) controller.abort(new Error("gone"));
    const reasons = await Promise.all(aborted);
    assert.ok(reasons.every((reason) => reason instanceof Error && reason.message === "gone"));
    for (let n = 0; n < 1_000; n++) assert.equal(bus.twitter("bulk:n", n), 1, `message ${n} taken by a waiting get`);
    assert.deepEqual(await Promise.all(live), Array.from({ length: 1_000 }, (_, n) => n));
    assert.equal(queue.qsize(), 0);
    bus.twitter("bulk:n", "kept");
    assert.equal(queue.qsize(), 1, "no waiter left: the next message is queued");
    queue.close();
  });

  it("gets that time out together leave none behind; the queue keeps serving", async () => {
    const bus = new Bus();
    const queue = new Queue("late:*", { bus });
    const outcomes = await Promise.all(Array.from({ length: 2_000 }, () => queue.get({ timeout: 1 }).catch((error: unknown) => error)));
    assert.ok(outcomes.every((outcome) => outcome instanceof QueueTimeoutError));
    const next = queue.get();
    bus.twitter("late:x", 1);
    assert.deepEqual((await next).args, [1]);
    queue.close();
  });

  it("closing one handle of a shared queue rejects its own waiting gets only, abandoned ones aside", async () => {
    const bus = new Bus();
    const one = new Queue("share:*", { bus, shared: true });
    const two = new Queue("share:*", { bus, shared: true });
    const controllers = Array.from({ length: 1_500 }, () => new AbortController());
    const abandoned = controllers.map((controller) => one.get({ signal: controller.signal }).catch(() => "aborted"));
    const mine = one.get().catch((error: unknown) => error);
    const theirs = two.get();
    for (const controller of controllers) controller.abort();
    await Promise.all(abandoned);
    one.close();
    assert.ok((await mine) instanceof QueueClosedError);
    assert.equal(bus.twitter("share:m", "x"), 1);
    assert.deepEqual((await theirs).args, ["x"]);
    two.close();
  });
});

// A queue bounded only by count held any number of bytes: a bridge server's queue session (1,000
// messages of up to 1 MiB) held a GiB. `maxBytes` bounds the summed JSON length of args and kwargs.
describe("queues bounded in size (maxBytes)", () => {
  const blob = (n: number): string => "x".repeat(n);

  it("reject-new: keeps what fits, drops and reports the rest; a get makes room again", async () => {
    const bus = new Bus();
    const errors: BerryError[] = [];
    bus.on("error", (error) => void errors.push(error));
    // Each message: args ["xxx…"] is its length + 4, kwargs {} 2 more.
    const queue = new Queue("big:*", { bus, maxBytes: 3 * 1_006 });
    const reached = [0, 1, 2, 3, 4].map(() => bus.twitter("big:m", blob(1_000)));
    assert.deepEqual(reached, [1, 1, 1, 0, 0]);
    assert.equal(queue.qsize(), 3);
    assert.equal(errors.length, 2);
    assert.ok(errors[0] instanceof QueueOverflowError);
    assert.match(errors[0].message, /maxBytes 3018, the message 1006/);
    await queue.get();
    assert.equal(bus.twitter("big:m", blob(1_000)), 1, "room for one again");
    assert.equal(bus.twitter("big:m", blob(1_000)), 0);
    queue.close();
  });

  it("drop-oldest: drops as many of the oldest as make room; a message larger than the bound alone is never queued", () => {
    const bus = new Bus();
    const errors: BerryError[] = [];
    bus.on("error", (error) => void errors.push(error));
    const queue = new Queue("old:*", { bus, maxBytes: 2_000, overflow: "drop-oldest" });
    for (const n of [1, 2, 3]) bus.twitter("old:small", n, blob(400));
    assert.equal(queue.qsize(), 3);
    bus.twitter("old:large", blob(1_500));
    // Small ones are 408 each: two had to go for the large one (1,506) to fit in 2,000.
    assert.deepEqual(
      errors.map((error) => ((error as QueueOverflowError).dropped as { args: unknown[] }).args[0]),
      [1, 2],
    );
    assert.equal(queue.qsize(), 2);
    assert.equal(bus.twitter("old:huge", blob(5_000)), 0, "larger than maxBytes alone");
    assert.equal(queue.qsize(), 2, "and nothing was dropped for it");
    assert.deepEqual(queue.close().map((message) => message.id), ["old:small", "old:large"]);
  });

  it("a message JSON cannot carry counts 0; a shared queue must be opened with the same maxBytes", () => {
    const bus = new Bus();
    const queue = new Queue("odd:*", { bus, maxBytes: 10, shared: true });
    assert.equal(bus.twitter("odd:big", 10n), 1);
    assert.throws(() => new Queue("odd:*", { bus, maxBytes: 20, shared: true }), /maxBytes: 10/);
    assert.throws(() => new Queue("odd:*", { bus, maxBytes: -1 }), InvalidArgumentError);
    queue.close();
  });
});
