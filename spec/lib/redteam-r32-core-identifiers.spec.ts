// Red team r32 (core): how misused identifiers are named.
// - `matches(a, b)` (exported) took anything besides a string as a parsed identifier: a number, an array
//   or `{}` matched nothing without a word, `null` threw a TypeError naming no value.
// - The text of every InvalidIdentifierError / InvalidArgumentError reads the offending value: a revoked
//   Proxy, or one whose traps throw, threw its own TypeError from there instead (from twitter, follow,
//   new Queue, new Bus, ...), and the typed error naming the argument was lost.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, InvalidArgumentError, InvalidIdentifierError, matches, parseIdentifier, Queue } from "../../lib/index.js";

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}
const trapping = (): object =>
  new Proxy(
    {},
    {
      get() {
        throw new Error("get trap");
      },
      ownKeys() {
        throw new Error("ownKeys trap");
      },
    },
  );
const trappingFunction = (): object =>
  new Proxy(() => {}, {
    get() {
      throw new Error("get trap");
    },
  });

const unshowable = (Type: typeof InvalidIdentifierError | typeof InvalidArgumentError, value: unknown) => (error: unknown) =>
  error instanceof Type && error.value === value && /cannot be shown/.test(error.message);

describe("red team r32 core: identifiers and the values errors name", () => {
  it("matches refuses what is neither an identifier string nor a parsed identifier, naming it", () => {
    for (const value of [12, null, undefined, ["a:b"], {}, { name: "a", action: "b" }, true]) {
      for (const call of [() => matches("a:b", value as never), () => matches(value as never, "a:b")]) {
        assert.throws(call, (error: unknown) => error instanceof InvalidIdentifierError && Object.is(error.value, value));
      }
    }
    assert.equal(matches("a:b", parseIdentifier("*:b")), true);
    assert.equal(matches(parseIdentifier("a:b"), "a:*"), true);
    assert.equal(matches(parseIdentifier("x@ns:b"), parseIdentifier("*:b")), false);
    assert.equal(matches(Object.freeze({ id: "a:b", name: "a", action: "b", namespace: "" }), "*:*"), true);
  });

  it("an identifier that cannot be shown is refused with InvalidIdentifierError all the same", async (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    for (const value of [revokedProxy(), trapping(), trappingFunction()]) {
      assert.throws(() => parseIdentifier(value), unshowable(InvalidIdentifierError, value));
      assert.throws(() => bus.twitter(value as never), unshowable(InvalidIdentifierError, value));
      assert.throws(() => bus.follow(value as never, () => {}), unshowable(InvalidIdentifierError, value));
      assert.throws(() => new Queue(value as never, { bus }), unshowable(InvalidIdentifierError, value));
      assert.throws(() => matches("a:b", value as never), unshowable(InvalidIdentifierError, value));
      await assert.rejects(bus.talk("a:b", value as never), unshowable(InvalidIdentifierError, value));
    }
    assert.equal(bus.size, 0);
  });

  it("an option that cannot be shown is refused with InvalidArgumentError naming the option", (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    for (const value of [revokedProxy(), trapping(), trappingFunction()]) {
      const named = (argument: string) => (error: unknown) =>
        unshowable(InvalidArgumentError, value)(error) && (error as InvalidArgumentError).argument === argument;
      assert.throws(() => new Queue("a:b", { bus, maxsize: value as never }), named("maxsize"));
      assert.throws(() => bus.follow("a:b", () => {}, { label: value as never }), named("label"));
      assert.throws(() => new Bus({ id: value as never }), named("id"));
    }
    assert.equal(bus.size, 0);
  });
});
