// Red team r30 review: `for await` over a Queue hands each waiting get an AbortSignal since r30 (so that
// return() ends a get still waiting), and each such get added and removed an `abort` listener on it: ~0.2 µs
// a message, a fifth of an iteration taking one message at a time. The iteration's gets are ended through
// the iterator's own stop now (a field each), with no listener on any AbortSignal; return() still ends a
// waiting get and leaves the next message queued.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus } from "../../lib/bus.js";
import { Queue } from "../../lib/queue.js";

describe("red team r30 review: the cost of iterating a Queue", () => {
  it("adds no abort listener per message, and return() still ends the get waiting", async (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    const queue = new Queue("cost:*", { bus });
    const added = t.mock.method(EventTarget.prototype, "addEventListener");
    let n = 0;
    setImmediate(() => bus.twitter("cost:x", 0));
    for await (const message of queue) {
      assert.equal(message.args[0], n);
      if (++n === 1_000) break;
      // Sent once the next get waits (each get of the loop waits for its message).
      queueMicrotask(() => bus.twitter("cost:x", n));
    }
    assert.equal(added.mock.callCount(), 0, "an abort listener added per waiting get");
    added.mock.restore();

    // return() while a next() waits: it resolves done, and the message sent after stays queued.
    const iterator = queue[Symbol.asyncIterator]();
    const waiting = iterator.next();
    await iterator.return?.();
    assert.deepEqual(await waiting, { value: undefined, done: true });
    bus.twitter("cost:x", "kept");
    assert.equal(queue.qsize(), 1);
    assert.equal(queue.getNowait().args[0], "kept");
    // Ended: no get of it waits, and it takes nothing more.
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });
    bus.twitter("cost:x", "after");
    assert.equal(queue.qsize(), 1);
  });
});
