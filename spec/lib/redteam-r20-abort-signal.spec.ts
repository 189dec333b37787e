// Red team (round 20): one AbortSignal shared by many requests, as a caller cancelling a whole batch
// would. Each request adding its own listener made Node warn from the 11th (MaxListenersExceededWarning)
// and cost time linear in the listeners already there, per request opened and per request settled.
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { describe, it } from "node:test";
import { Bus } from "../../lib/bus.js";
import { within } from "../../lib/request.js";
import { RequestAbortedError } from "../../lib/request-errors.js";
import { sleep } from "../helpers/wait-for.js";
import { warningTextsDuring } from "../helpers/warnings.js";

// A follower of `svc:hold` that answers each request when the spec says so, by its first argument.
function holding(bus: Bus): Map<number, (value: unknown) => void> {
  const held = new Map<number, (value: unknown) => void>();
  bus.follow("svc:hold", (m) => new Promise((resolve) => held.set(m.args[0] as number, resolve)));
  return held;
}

describe("red team r20: an AbortSignal shared by many requests", () => {
  it("1,000 requests sharing a signal add one abort listener, warn nothing, and leave none once answered", async () => {
    const bus = new Bus();
    const held = holding(bus);
    const controller = new AbortController();
    const warnings = await warningTextsDuring(async () => {
      const asks = Array.from({ length: 1_000 }, (_, i) => bus.ask("svc:hold", i, within({ signal: controller.signal })));
      assert.equal(bus.pendingRequests, 1_000);
      assert.equal(getEventListeners(controller.signal, "abort").length, 1, "one listener for the 1,000 requests");
      for (const [i, answer] of held) answer(i);
      assert.deepEqual(await Promise.all(asks), Array.from({ length: 1_000 }, (_, i) => i));
    });
    assert.deepEqual(warnings, []);
    assert.equal(getEventListeners(controller.signal, "abort").length, 0, "no listener left on the signal");
    assert.equal(bus.pendingRequests, 0);
    bus.close();
  });

  it("aborting rejects every request still waiting on it, oldest first, and only those", async () => {
    const bus = new Bus();
    const held = holding(bus);
    const shared = new AbortController();
    const other = new AbortController();
    const order: number[] = [];
    const asks = Array.from({ length: 300 }, (_, i) =>
      bus.ask("svc:hold", i, within({ signal: shared.signal })).then(
        (value) => ({ i, value }),
        (error: unknown) => {
          assert.ok(error instanceof RequestAbortedError, String(error));
          assert.equal(error.cause, "batch cancelled");
          order.push(i);
          return { i, value: "aborted" };
        },
      ),
    );
    const apart = bus.ask("svc:hold", 1_000, within({ signal: other.signal }));
    // The first hundred are answered first: aborting later must not touch them.
    for (let i = 0; i < 100; i++) held.get(i)?.(i);
    await sleep(5);
    shared.abort("batch cancelled");
    const outcomes = await Promise.all(asks);
    assert.deepEqual(
      outcomes.slice(0, 100).map((o) => o.value),
      Array.from({ length: 100 }, (_, i) => i),
    );
    assert.deepEqual(order, Array.from({ length: 200 }, (_, i) => i + 100), "the 200 waiting ones, in the order they were asked");
    assert.equal(getEventListeners(shared.signal, "abort").length, 0);
    assert.equal(bus.pendingRequests, 1, "the request on another signal still waits");
    held.get(1_000)?.("apart");
    assert.equal(await apart, "apart");
    // Late answers to the aborted requests find nothing.
    for (let i = 100; i < 300; i++) held.get(i)?.(i);
    await sleep(5);
    assert.equal(bus.pendingRequests, 0);
    bus.close();
  });

  it("a signal shared by requests on two buses: each bus listens once, an abort rejects both", async () => {
    const buses = [new Bus(), new Bus()];
    for (const bus of buses) holding(bus);
    const controller = new AbortController();
    const asks = buses.flatMap((bus) => Array.from({ length: 20 }, (_, i) => bus.ask("svc:hold", i, within({ signal: controller.signal }))));
    assert.equal(getEventListeners(controller.signal, "abort").length, 2);
    controller.abort();
    const settled = await Promise.allSettled(asks);
    assert.ok(settled.every((s) => s.status === "rejected" && s.reason instanceof RequestAbortedError));
    assert.equal(getEventListeners(controller.signal, "abort").length, 0);
    for (const bus of buses) {
      assert.equal(bus.pendingRequests, 0);
      bus.close();
    }
  });

  it("closing the bus drops its listeners from a signal that is never aborted", async () => {
    const bus = new Bus();
    holding(bus);
    const controller = new AbortController();
    const asks = Array.from({ length: 50 }, (_, i) => bus.ask("svc:hold", i, within({ signal: controller.signal })).catch(() => "closed"));
    bus.close();
    assert.deepEqual(new Set(await Promise.all(asks)), new Set(["closed"]));
    assert.equal(getEventListeners(controller.signal, "abort").length, 0);
  });
});
