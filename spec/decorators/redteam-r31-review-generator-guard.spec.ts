// Red team r31 review, compiled in both decorator modes like decorators.spec.ts: generators are refused as
// followers (r31), but not as guards. A generator guard returned an iterator, which is no boolean: every
// message was dropped without a word and the guard's body never ran (as an async guard's promise was,
// r30). JavaScript, or a cast, gets one past the types. bus.follow and @following refuse one, naming it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, following, InvalidArgumentError, type Message } from "../../lib/index.js";

const mode = import.meta.url.includes("/.build/legacy/") ? "legacy" : "standard";

const refused = (error: unknown) =>
  error instanceof InvalidArgumentError && error.argument === "guard" && /not a generator/.test(error.message);

function* generatorGuard(_message: Message): Generator<boolean> {
  yield true;
}
async function* asyncGeneratorGuard(_message: Message): AsyncGenerator<boolean> {
  yield true;
}

describe(`r31 review: a generator as guard (${mode} decorators)`, () => {
  it("bus.follow refuses one, and registers nothing", (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    for (const guard of [generatorGuard, asyncGeneratorGuard]) {
      assert.throws(() => bus.follow("a:b", () => {}, { guard: guard as never }), refused);
    }
    assert.equal(bus.size, 0);
    bus.follow("a:b", () => {}, { guard: (message) => message.args.length === 0 });
    assert.equal(bus.twitter("a:b"), 1);
  });

  it("@following refuses one when the class is defined", () => {
    for (const guard of [generatorGuard, asyncGeneratorGuard]) {
      assert.throws(() => following("a:b", { guard: guard as never }), refused);
    }
  });
});
