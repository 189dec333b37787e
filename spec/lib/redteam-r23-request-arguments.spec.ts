// Red team r23: misused request arguments get an InvalidArgumentError naming the value, at once.
// Before: within(null) failed at the request with a TypeError (reading null.count), within(5) asked with
// the defaults, `balanced: "yes"` asked everybody as if left out, stub(id, null) and expose(id, fn, null)
// threw TypeErrors, a stub or expose given a bus that is none failed with a TypeError, and a stub's bad
// timeout failed only at each call; a within() not last (before kw(), or twice) went to the followers as an argument and
// its options were not applied.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, expose, InvalidArgumentError, kw, RequestOverflowError, RequestTimeoutError, stub, within } from "../../lib/index.js";

function invalid(argument: string, shown: string): (error: unknown) => boolean {
  return (error) =>
    error instanceof InvalidArgumentError && error.argument === argument && error.message.includes(`invalid ${argument} ${shown}:`);
}

describe("red team r23: request arguments", () => {
  it("within() takes an object of options only", () => {
    // biome-ignore lint/suspicious/noExplicitAny: what a JavaScript caller can pass
    const loose = within as (options: any) => unknown;
    assert.throws(() => loose(null), invalid("within() options", "null"));
    assert.throws(() => loose(5), invalid("within() options", "5"));
    assert.throws(() => loose("fast"), invalid("within() options", '"fast"'));
  });

  it("balanced must be a boolean: a string is refused rather than asking everybody", async () => {
    const bus = new Bus();
    let runs = 0;
    bus.follow("svc:x", () => ++runs);
    await assert.rejects(bus.ask("svc:x", within({ balanced: "yes" as unknown as boolean })), invalid("balanced", '"yes"'));
    assert.equal(runs, 0, "the refused request was not sent");
    assert.equal(await bus.ask("svc:x", within({ balanced: false })), 1);
    assert.equal(await bus.ask("svc:x", within({ balanced: undefined as unknown as boolean })), 2);
    assert.equal(bus.pendingRequests, 0);
    bus.close();
  });

  it("a within() that is not last (before kw(), twice, or first in talk()) is refused rather than sent as an argument", async () => {
    const bus = new Bus();
    const seen: unknown[][] = [];
    bus.follow("svc:y", (m) => {
      seen.push([...m.args]);
      return "ran";
    });
    const misplaced = within({ timeout: 100 });
    await assert.rejects(bus.ask("svc:y", 1, misplaced, kw({ x: 1 })), invalid("within() at argument 2", '{"timeout":100}'));
    await assert.rejects(bus.request("svc:y", misplaced, within({ timeout: 200 })), invalid("within() at argument 1", '{"timeout":100}'));
    await assert.rejects(bus.talk("svc:y", "svc:done", misplaced, 1), invalid("within() at argument 1", '{"timeout":100}'));
    assert.deepEqual(seen, [], "no follower got a within() as an argument");
    assert.equal(await bus.ask("svc:y", 1, kw({ x: 1 }), misplaced), "ran");
    assert.equal(bus.pendingRequests, 0);
    bus.close();
  });

  it("the request table's bound names its option and value", async () => {
    const bus = new Bus({ maxPendingRequests: 2 });
    const waiting = [bus.request("none:a", within({ timeout: 50 })), bus.request("none:b", within({ timeout: 50 }))];
    await assert.rejects(
      bus.request("none:c"),
      (e: unknown) => e instanceof RequestOverflowError && e.limit === 2 && e.message.includes("2 requests are already waiting for answers (maxPendingRequests)"),
    );
    for (const request of waiting) await assert.rejects(request, RequestTimeoutError);
    assert.equal(bus.pendingRequests, 0);
    bus.close();
  });

  it("stub() and expose() refuse options that are no object and a bus that is none, when made", async () => {
    const bus = new Bus();
    // biome-ignore lint/suspicious/noExplicitAny: what a JavaScript caller can pass
    const looseStub = stub as (identifier: string, options: any) => unknown;
    // biome-ignore lint/suspicious/noExplicitAny: what a JavaScript caller can pass
    const looseExpose = expose as (identifier: string, fn: () => unknown, options: any) => unknown;
    assert.throws(() => looseStub("calc:add", null), invalid("stub options", "null"));
    assert.throws(() => looseStub("calc:add", { bus: {} }), invalid("bus", "{}"));
    assert.throws(() => looseStub("calc:add", { bus: "main" }), invalid("bus", '"main"'));
    assert.throws(() => stub("calc:add", { bus, timeout: -1 }), invalid("timeout", "-1"));
    assert.throws(() => looseStub("calc:add", { bus, balanced: 1 }), invalid("balanced", "1"));
    assert.throws(() => looseExpose("calc:add", () => 1, null), invalid("expose options", "null"));
    assert.throws(() => looseExpose("calc:add", () => 1, { bus: 5 }), invalid("bus", "5"));
    // The same calls with a bus work.
    const stop = expose("calc:add", (a: number, b: number) => a + b, { bus });
    assert.equal(await stub<[number, number], number>("calc:add", { bus })(2, 3), 5);
    stop();
    bus.close();
  });
});
