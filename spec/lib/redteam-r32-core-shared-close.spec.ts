// Red team r32 (core): closing a shared queue handle scanned every waiter of the shared buffer to find its
// own gets, so closing n handles that each had a get waiting (a worker pool's, one by one) took O(n²): 4 s
// for 20,000 handles on a 2-core machine, the process blocked throughout. Each handle now ends its own gets
// (marked abandoned, as timed-out ones are: dropped in one pass once most of the list).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, Queue, QueueClosedError, QueueTimeoutError } from "../../lib/index.js";

describe("red team r32 core: closing shared queue handles", () => {
  it("20,000 handles with a get waiting each close in time proportional to their number", async (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    const handles = Array.from({ length: 20_000 }, () => new Queue("job:*", { bus, shared: true }));
    const gets = handles.map((queue) => queue.get().then(
      () => "message",
      (error: unknown) => (error instanceof QueueClosedError ? "closed" : error),
    ));
    const started = performance.now();
    for (const queue of handles) queue.close();
    const took = performance.now() - started;
    // ~0.1 s now; 4 s before (quadratic). Generous for a loaded machine.
    assert.ok(took < 2_000, `closing took ${Math.round(took)} ms`);
    const outcomes = await Promise.all(gets);
    assert.ok(outcomes.every((outcome) => outcome === "closed"));
    assert.equal(bus.twitter("job:run"), 0); // no handle left: the shared buffer is detached
  });

  it("a closed handle's gets end, the other handles' keep waiting, in order, across compactions", async (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    const keep = new Queue("job:*", { bus, shared: true });
    const closing = Array.from({ length: 3_000 }, () => new Queue("job:*", { bus, shared: true }));
    const order: number[] = [];
    const kept = [0, 1, 2].map((n) => keep.get().then((message) => void order.push(n, message.args[0] as number)));
    // Interleaved with the kept gets: each closed handle's get sits between them in the shared list.
    const ended = closing.map((queue) => queue.get({ timeout: 60_000 }).catch((error: unknown) => error));
    const last = keep.get({ timeout: 60_000 });
    for (const queue of closing) queue.close();
    for (const error of await Promise.all(ended)) assert.ok(error instanceof QueueClosedError);
    for (let i = 0; i < 4; i++) assert.equal(bus.twitter("job:run", i * 10), 1);
    await Promise.all(kept);
    assert.deepEqual(order, [0, 0, 1, 10, 2, 20]);
    assert.deepEqual((await last).args, [30]);
    assert.equal(keep.qsize(), 0);
  });

  it("closing a handle ends only its own gets, once, and its timers with them", async (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    const a = new Queue("job:*", { bus, shared: true });
    const b = new Queue("job:*", { bus, shared: true });
    const settled: unknown[] = [];
    const mine = a.get({ timeout: 30 }).then(
      (message) => settled.push(message),
      (error: unknown) => settled.push(error),
    );
    const theirs = b.get({ timeout: 30 }).catch((error: unknown) => error);
    a.close();
    await mine;
    assert.equal(settled.length, 1);
    assert.ok(settled[0] instanceof QueueClosedError);
    assert.ok((await theirs) instanceof QueueTimeoutError);
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(settled.length, 1);
    assert.equal(bus.twitter("job:run", 1), 1);
    assert.deepEqual(b.getNowait().args, [1]);
  });
});
