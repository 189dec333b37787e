// Red team r23: request timeouts. The table keeps one list and one timer per distinct timeout, and kept an
// emptied list with its timer armed until the timer fired: a caller passing a timeout of its own to each
// request (the ms left before a deadline) left a list and a Timeout behind for every answered request,
// for as long as its timeout (42 MB for 100,000 asks; not bounded by maxPendingRequests, which counts
// only requests still waiting).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, BusClosedError, RequestAbortedError, RequestTimeoutError, within } from "../../lib/index.js";
import { heapUsed } from "../helpers/heap.js";
import { sleep } from "../helpers/wait-for.js";

describe("red team r23: request timeouts", () => {
  it("20,000 asks, each with a timeout of its own and answered at once, keep nothing once answered", async () => {
    const bus = new Bus();
    bus.follow("calc:one", () => 1);
    for (let i = 0; i < 1_000; i++) await bus.ask("calc:one", within({ timeout: 60_000 })); // warm
    const before = heapUsed();
    let sum = 0;
    for (let i = 0; i < 20_000; i++) sum += await bus.ask<number>("calc:one", within({ timeout: 60_000 + i }));
    const kept = heapUsed() - before;
    assert.equal(sum, 20_000);
    assert.equal(bus.pendingRequests, 0);
    // Before: 9 MB (a Deadlines list, a Timeout and what Node keeps for a cleared unreferenced one, each).
    assert.ok(kept < 2_000_000, `kept ${kept} bytes`);
    bus.close();
  });

  it("requests of many distinct timeouts, some answered and some not, each expire at their own timeout", async () => {
    const bus = new Bus();
    bus.follow("some:answered", () => "yes");
    const started = performance.now();
    const waiting = Array.from({ length: 40 }, (_, i) =>
      bus.request("none:here", within({ timeout: 20 + i * 3 })).then(
        () => Number.NaN,
        (error: unknown) => {
          assert.ok(error instanceof RequestTimeoutError, String(error));
          return performance.now() - started - (20 + i * 3);
        },
      ),
    );
    // Answered requests of yet other timeouts empty (and drop) their lists meanwhile.
    for (let i = 0; i < 200; i++) assert.equal(await bus.ask("some:answered", within({ timeout: 1_000 + i })), "yes");
    const lateness = await Promise.all(waiting);
    for (const late of lateness) assert.ok(late >= -1 && late < 2_000, `expired ${late} ms after its timeout`);
    assert.equal(bus.pendingRequests, 0);
    bus.close();
  });

  it("a timeout above 2^31-1 ms waits (Node would fire it at once) and ends when aborted or when the bus closes", async () => {
    const bus = new Bus();
    const controller = new AbortController();
    const huge = 2 ** 31 + 5;
    const all = bus.request("late:x", within({ count: "all", timeout: huge, signal: controller.signal }));
    const one = bus.ask("late:y", within({ timeout: 30 * 86_400_000 }));
    let settled = false;
    void all.then(
      () => (settled = true),
      () => (settled = true),
    );
    await sleep(50);
    assert.equal(settled, false);
    assert.equal(bus.pendingRequests, 2);
    controller.abort();
    await assert.rejects(all, RequestAbortedError);
    bus.close();
    await assert.rejects(one, BusClosedError);
    assert.equal(bus.pendingRequests, 0);
  });
});
