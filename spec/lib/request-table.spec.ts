// The request table keeps its first waiting request apart from the Map of the others (one request at a time
// never reaches the Map): every way a request ends must find it wherever it is, in any order.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus } from "../../lib/bus.js";
import { BusClosedError } from "../../lib/errors.js";
import { within } from "../../lib/request.js";
import { RequestAbortedError, RequestTimeoutError } from "../../lib/request-errors.js";
import { sleep } from "../helpers/wait-for.js";

// A follower of `svc:hold` that answers each request when the spec says so, by its first argument.
function holding(bus: Bus): Map<string, (value: unknown) => void> {
  const held = new Map<string, (value: unknown) => void>();
  bus.follow("svc:hold", (m) => new Promise((resolve) => held.set(m.args[0] as string, resolve)));
  return held;
}

describe("request table", () => {
  it("requests answered out of order, aborted, timed out and opened again each settle once with their own answer", async () => {
    const bus = new Bus();
    const held = holding(bus);
    const controller = new AbortController();
    const a = bus.ask("svc:hold", "a");
    const b = bus.ask("svc:hold", "b", within({ signal: controller.signal }));
    const c = bus.ask("svc:hold", "c", within({ timeout: 30 }));
    assert.equal(bus.pendingRequests, 3);
    held.get("a")?.("A");
    assert.equal(await a, "A");
    assert.equal(bus.pendingRequests, 2);
    // Opened while others wait (the first one's place is free again).
    const d = bus.ask("svc:hold", "d");
    assert.equal(bus.pendingRequests, 3);
    held.get("d")?.("D");
    assert.equal(await d, "D");
    controller.abort();
    await assert.rejects(b, RequestAbortedError);
    await assert.rejects(c, RequestTimeoutError);
    assert.equal(bus.pendingRequests, 0);
    // Late answers of requests that ended find nothing.
    held.get("b")?.("B");
    held.get("c")?.("C");
    await sleep(5);
    // One at a time again, then the first of several ends before the others.
    for (let i = 0; i < 3; i++) {
      const one = bus.ask("svc:hold", `one${i}`);
      assert.equal(bus.pendingRequests, 1);
      held.get(`one${i}`)?.(i);
      assert.equal(await one, i);
    }
    const first = bus.ask("svc:hold", "first", within({ timeout: 20 }));
    const second = bus.ask("svc:hold", "second");
    await assert.rejects(first, RequestTimeoutError);
    assert.equal(bus.pendingRequests, 1);
    held.get("second")?.(2);
    assert.equal(await second, 2);
    assert.equal(bus.pendingRequests, 0);
    bus.close();
  });

  it("closing the bus rejects every waiting request, the first one included, in the order they were opened", async () => {
    const bus = new Bus();
    holding(bus);
    const order: string[] = [];
    const waiting = ["x", "y", "z"].map((name) =>
      bus.ask("svc:hold", name).catch((error: unknown) => {
        assert.ok(error instanceof BusClosedError);
        order.push(name);
      }),
    );
    bus.close();
    await Promise.all(waiting);
    assert.deepEqual(order, ["x", "y", "z"]);
    assert.equal(bus.pendingRequests, 0);
  });

  it("bounds waiting requests with the first one counted", async () => {
    const bus = new Bus({ maxPendingRequests: 2 });
    const held = holding(bus);
    const a = bus.ask("svc:hold", "a");
    const b = bus.ask("svc:hold", "b");
    await assert.rejects(bus.ask("svc:hold", "c"), /more than 2|2 requests|maxPendingRequests|overflow/i);
    held.get("a")?.(1);
    held.get("b")?.(2);
    assert.deepEqual(await Promise.all([a, b]), [1, 2]);
    bus.close();
  });
});
