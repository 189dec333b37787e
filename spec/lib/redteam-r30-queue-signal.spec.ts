// Red team r30: one AbortSignal shared by many waiting queue gets, as workers stopped by one controller
// would share it. Each get added a listener of its own: Node warned from the 11th
// (MaxListenersExceededWarning), and each get started and ended in time linear in the listeners already
// there (40,000 gets took 6 s to start). Requests had the same fixed in r20; gets now share one listener.
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { describe, it } from "node:test";
import { Bus, InvalidArgumentError, Queue } from "../../lib/index.js";
import { warningTextsDuring } from "../helpers/warnings.js";

describe("red team r30: an AbortSignal shared by many queue gets", () => {
  it("1,000 gets sharing a signal add one abort listener, warn nothing, and leave none once served", async () => {
    const bus = new Bus();
    const queue = new Queue("work:*", { bus });
    const controller = new AbortController();
    const warnings = await warningTextsDuring(async () => {
      const gets = Array.from({ length: 1_000 }, () => queue.get({ signal: controller.signal }));
      assert.equal(getEventListeners(controller.signal, "abort").length, 1, "one listener for the 1,000 gets");
      for (let i = 0; i < 1_000; i++) assert.equal(bus.twitter("work:item", i), 1);
      const served = await Promise.all(gets);
      assert.deepEqual(
        served.map((message) => message.args[0]),
        Array.from({ length: 1_000 }, (_, i) => i),
      );
    });
    assert.deepEqual(warnings, []);
    assert.equal(getEventListeners(controller.signal, "abort").length, 0, "no listener left on the signal");
    queue.close();
    bus.close();
  });

  it("aborting rejects every get waiting on it with its reason, oldest first, and only those; nothing is lost", async () => {
    const bus = new Bus();
    const queue = new Queue("work:*", { bus });
    const shared = new AbortController();
    const other = new AbortController();
    const order: string[] = [];
    const reason = new Error("stop");
    const sharing = Array.from({ length: 50 }, (_, i) =>
      queue.get({ signal: shared.signal, timeout: 60_000 }).then(
        () => "served",
        (error: unknown) => {
          order.push(`shared ${i}`);
          return error;
        },
      ),
    );
    const apart = queue.get({ signal: other.signal });
    shared.abort(reason);
    const outcomes = await Promise.all(sharing);
    assert.ok(outcomes.every((outcome) => outcome === reason));
    assert.deepEqual(
      order,
      Array.from({ length: 50 }, (_, i) => `shared ${i}`),
    );
    assert.equal(getEventListeners(shared.signal, "abort").length, 0);
    // The get on another signal still waits and takes the next message; the one after is queued.
    assert.equal(bus.twitter("work:item", "a"), 1);
    assert.deepEqual((await apart).args, ["a"]);
    assert.equal(getEventListeners(other.signal, "abort").length, 0);
    // A get with the aborted signal on an empty queue rejects at once with its reason, and waits for nothing.
    await assert.rejects(queue.get({ signal: shared.signal }), (error) => error === reason);
    assert.equal(bus.twitter("work:item", "b"), 1);
    assert.equal(queue.qsize(), 1, "no get was left waiting: the message is queued");
    queue.close();
    bus.close();
  });

  it("a get's signal that is no AbortSignal rejects naming it, and the next message is queued", async () => {
    const bus = new Bus();
    const queue = new Queue("work:*", { bus });
    const fake = { aborted: false } as unknown as AbortSignal;
    await assert.rejects(
      queue.get({ signal: fake }),
      (error) => error instanceof InvalidArgumentError && /signal/.test(error.message) && /AbortSignal/.test(error.message),
    );
    bus.twitter("work:item", 1);
    assert.equal(queue.qsize(), 1);
    queue.close();
    bus.close();
  });
});

describe("red team r30: a get whose signal is already aborted", () => {
  it("rejects with the reason even when messages are queued, and leaves them queued: a stopped worker stops", async () => {
    const bus = new Bus();
    const queue = new Queue("work:*", { bus });
    const controller = new AbortController();
    const handled: unknown[] = [];
    for (let i = 0; i < 5; i++) bus.twitter("work:item", i);
    const worker = (async () => {
      for (;;) {
        const message = await queue.get({ signal: controller.signal });
        handled.push(message.args[0]);
        if (handled.length === 2) controller.abort(new Error("shutting down"));
      }
    })();
    await assert.rejects(worker, /shutting down/);
    assert.deepEqual(handled, [0, 1], "nothing taken once the signal aborted");
    assert.equal(queue.qsize(), 3);
    assert.deepEqual(
      queue.close().map((message) => message.args[0]),
      [2, 3, 4],
    );
    bus.close();
  });
});
