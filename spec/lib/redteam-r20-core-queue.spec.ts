// Red team r20: gets abandoned in bulk (timeouts, aborts). An abandoned get was spliced out of the
// waiters at O(waiters) each; now it is marked and dropped in one pass once most are abandoned. These
// specs pin what must not change: order, no message given to an abandoned get, close() of a shared queue.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, Queue, QueueClosedError, QueueTimeoutError } from "../../lib/index.js";

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
