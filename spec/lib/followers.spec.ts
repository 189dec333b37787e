import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, defaultBus, followingFunction, InvalidArgumentError, type Message, twitter } from "../../lib/index.js";
import { addPrototypeSpec, followingSpec } from "../../lib/follower-metadata.js";

// A follower class built without decorator syntax (the decorator specs cover both syntaxes): it records
// specs exactly as `@following` does under experimentalDecorators.
class Counter {
  received: string[] = [];
  hit(message: Message): void {
    this.received.push(message.id);
  }
}
addPrototypeSpec(Counter.prototype, followingSpec("count:*", "hit", undefined));
addPrototypeSpec(Counter.prototype, followingSpec("*:reset", "hit", undefined));

describe("plain-function followers", () => {
  it("follow() returns an unsubscribe that stops delivery and says whether it was registered", () => {
    const bus = new Bus();
    let n = 0;
    const stop = bus.follow("a:*", () => void n++);
    bus.twitter("a:b");
    assert.equal(stop(), true);
    assert.equal(stop(), false, "second call: nothing to remove");
    assert.equal(bus.twitter("a:b"), 0);
    assert.equal(n, 1);
  });

  it("a guard decides per message", () => {
    const bus = new Bus();
    const got: unknown[] = [];
    bus.follow("temp:*", (m) => void got.push(m.args[0]), { guard: (m) => (m.args[0] as number) > 30 });
    assert.equal(bus.twitter("temp:read", 20), 0, "guarded out: not counted");
    assert.equal(bus.twitter("temp:read", 35), 1);
    assert.deepEqual(got, [35]);
  });

  it("refuses a follower or guard that is not a function, naming it", () => {
    const bus = new Bus();
    assert.throws(() => bus.follow("a:b", "nope" as unknown as () => void), /invalid follower "nope": expected a function/);
    assert.throws(() => bus.follow("a:b", () => {}, { guard: 1 as unknown as () => boolean }), InvalidArgumentError);
  });

  it("followingFunction() and twitter() use the default bus", () => {
    const got: unknown[] = [];
    const stop = followingFunction("default-spec:*", (m) => void got.push(m.args[0]));
    assert.equal(twitter("default-spec:go", 7), 1);
    assert.deepEqual(got, [7]);
    stop();
    assert.equal(defaultBus.twitter("default-spec:go"), 0);
  });

  it("isolated buses do not see each other's messages", () => {
    const one = new Bus();
    const two = new Bus();
    let n = 0;
    two.follow("*:*", () => void n++);
    assert.equal(one.twitter("a:b"), 0);
    assert.equal(n, 0);
  });
});

describe("instance followers", () => {
  it("register() wires every @following method; several patterns on one method", () => {
    const bus = new Bus();
    const counter = new Counter();
    bus.register(counter);
    assert.equal(bus.twitter("count:up"), 1);
    assert.equal(bus.twitter("all:reset"), 1);
    assert.equal(bus.twitter("count:reset"), 2, "both patterns match: the method runs twice");
    assert.deepEqual(counter.received, ["count:up", "all:reset", "count:reset", "count:reset"]);
  });

  it("registering twice is a no-op; unregister() stops delivery", () => {
    const bus = new Bus();
    const counter = new Counter();
    bus.register(counter);
    bus.register(counter);
    assert.equal(bus.twitter("count:up"), 1);
    assert.equal(bus.unregister(counter), true);
    assert.equal(bus.unregister(counter), false);
    assert.equal(bus.twitter("count:up"), 0);
  });

  it("refuses an object without @following methods", () => {
    assert.throws(() => new Bus().register({}), /at least one @following method/);
  });

  it("holds instances weakly: a garbage-collected instance stops receiving", async () => {
    const gc = globalThis.gc;
    assert.ok(gc, "run with node --expose-gc (npm test does)");
    const bus = new Bus();
    const kept = new Counter();
    bus.register(kept);
    (() => {
      bus.register(new Counter());
    })();
    assert.equal(bus.size, 4, "two instances, two patterns each");
    let reached = 2;
    for (let round = 0; round < 20 && reached !== 1; round++) {
      // WeakRefs are only cleared between jobs: yield to the event loop around each collection.
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      await new Promise((resolve) => setImmediate(resolve));
      reached = bus.twitter("count:up");
    }
    assert.equal(reached, 1, "only the instance still referenced receives");
    assert.equal(kept.received.length > 0, true);
    // Its entries leave the index on the next delivery or when the FinalizationRegistry runs, whichever is first.
    assert.ok(bus.size <= 3, `the collected instance's entries leave the index (size ${bus.size})`);
  });
});
