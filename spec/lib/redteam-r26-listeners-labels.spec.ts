// Red team r26: a follower's `label` that is no string (a Symbol) made its failure report throw, out of
// twitter() (the followers after it never ran) or as an unhandled rejection; a `follow` listener that
// threw made follow() throw with the follower registered and no unsubscribe handle; an `unfollow`
// listener that threw from the finalizer of a collected instance was an uncaught exception.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type BerryError, Bus, following, InvalidArgumentError, ListenerError, type Message } from "../../lib/index.js";

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("follower labels (r26)", () => {
  for (const [what, label] of [
    ["a Symbol", Symbol("x")],
    ["an object whose toString throws", { toString: (): never => assert.fail("read") }],
    ["a number", 7],
  ] as const) {
    it(`follow() refuses ${what} as a label, naming it`, () => {
      const bus = new Bus();
      assert.throws(
        () => bus.follow("a:b", () => {}, { label: label as unknown as string }),
        (error: unknown) => error instanceof InvalidArgumentError && error.argument === "label" && error.value === label,
      );
      assert.equal(bus.size, 0);
    });
  }

  it("a function whose name is no string is reported as (anonymous)", () => {
    const bus = new Bus();
    const errors: BerryError[] = [];
    bus.on("error", (error) => void errors.push(error));
    const follower = (): never => {
      throw new Error("boom");
    };
    Object.defineProperty(follower, "name", { value: Symbol("name") });
    bus.follow("a:b", follower);
    let after = 0;
    bus.follow("a:b", () => void after++);
    assert.equal(bus.twitter("a:b"), 2);
    assert.equal(after, 1);
    assert.match(errors[0]?.message ?? "", /follower \(anonymous\) failed/);
  });
});

describe("follow and unfollow listeners that throw (r26)", () => {
  it("a throwing follow listener is reported; follow() returns its unsubscribe and later listeners run", () => {
    const bus = new Bus();
    const errors: BerryError[] = [];
    bus.on("error", (error) => void errors.push(error));
    bus.on("follow", () => {
      throw new Error("follow listener");
    });
    const heard: string[] = [];
    bus.on("follow", (pattern) => void heard.push(pattern.id));
    let calls = 0;
    const stop = bus.follow("a:b", () => void calls++);
    assert.equal(typeof stop, "function");
    assert.deepEqual(heard, ["a:b"], "the listener after the throwing one heard the pattern");
    assert.equal(errors.length, 1);
    const error = errors[0];
    assert.ok(error instanceof ListenerError);
    assert.equal(error.code, "LISTENER_FAILED");
    assert.equal(error.event, "follow");
    assert.equal(error.pattern, "a:b");
    assert.match(error.message, /follow listener/);
    assert.equal(bus.twitter("a:b"), 1);
    assert.equal(stop(), true);
    assert.equal(bus.twitter("a:b"), 0);
    assert.equal(calls, 1);
  });

  it("a throwing unfollow listener does not stop an unregister halfway", () => {
    const bus = new Bus();
    const errors: BerryError[] = [];
    bus.on("error", (error) => void errors.push(error));
    bus.on("unfollow", () => {
      throw new Error("unfollow listener");
    });
    class Two {
      @following("a:one")
      one(_message: Message): void {}
      @following("a:two")
      two(_message: Message): void {}
    }
    const two = new Two();
    bus.register(two);
    assert.equal(bus.size, 2);
    assert.equal(bus.unregister(two), true);
    assert.equal(bus.size, 0, "both followers removed");
    assert.deepEqual(
      errors.map((error) => (error as ListenerError).pattern),
      ["a:one", "a:two"],
    );
  });

  it("a throwing unfollow listener run by the finalizer of a collected instance is reported, not uncaught", async () => {
    const gc = globalThis.gc;
    assert.ok(gc, "run with node --expose-gc (npm test does)");
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => void uncaught.push(error);
    process.on("uncaughtException", onUncaught);
    try {
      const bus = new Bus();
      const errors: BerryError[] = [];
      bus.on("error", (error) => void errors.push(error));
      bus.on("unfollow", () => {
        throw new Error("unfollow listener in finalizer");
      });
      class Watcher {
        @following("w:x")
        x(_message: Message): void {}
      }
      (() => {
        bus.register(new Watcher());
      })();
      for (let i = 0; i < 20 && bus.size > 0; i++) {
        await turn();
        gc();
        await turn();
      }
      assert.equal(bus.size, 0, "the finalizer removed the collected instance's follower");
      await turn();
      assert.deepEqual(uncaught, []);
      assert.equal(errors.length, 1);
      assert.ok(errors[0] instanceof ListenerError);
      assert.equal(errors[0].event, "unfollow");
    } finally {
      process.off("uncaughtException", onUncaught);
    }
  });
});
