// Red team r32 (core): a class given where a function is called (a follower, a guard, `expose`'s function,
// what `autoTwitter`/`twitterException` wrap) was taken, and threw "Class constructor K cannot be invoked
// without 'new'" at every message (each reported, a request answered with it), or made a wrapped class
// that could no longer be constructed. Each is refused when given, naming the class.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { autoTwitter, Bus, expose, following, InvalidArgumentError, type Message, twitterException } from "../../lib/index.js";

const refused = (argument: string, value: unknown) => (error: unknown) =>
  error instanceof InvalidArgumentError &&
  error.argument === argument &&
  error.value === value &&
  /a class cannot be called without new/.test(error.message);

class Handler {
  handle(message: Message): string {
    return message.id;
  }
}
class Derived extends Handler {}

describe("red team r32 core: a class where a function is called", () => {
  it("bus.follow refuses a class as follower or guard, and registers nothing", (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    const errors: unknown[] = [];
    bus.on("error", (error) => void errors.push(error));
    for (const cls of [Handler, Derived, class {}]) {
      assert.throws(() => bus.follow("job:run", cls as never), refused("follower", cls));
      assert.throws(() => bus.follow("job:run", () => 1, { guard: cls as never }), refused("guard", cls));
    }
    assert.equal(bus.size, 0);
    assert.equal(bus.twitter("job:run"), 0);
    assert.deepEqual(errors, []);
  });

  it("@following refuses a class as guard when the class is defined", () => {
    assert.throws(() => following("job:run", { guard: Handler as never }), refused("guard", Handler));
  });

  it("expose, autoTwitter and twitterException refuse a class", (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    assert.throws(() => expose("calc:add", Handler as never, { bus }), refused("fn", Handler));
    assert.throws(() => autoTwitter("job", { bus })(Handler as never), refused("autoTwitter target", Handler));
    assert.throws(() => twitterException("job:failed", { bus })(Derived as never), refused("twitterException target", Derived));
    assert.equal(bus.size, 0);
  });

  it("takes every function that runs when called, as before", async (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    // A method named `class` (its source starts "class("), a function whose name starts so, a bound
    // method, a Proxy of a function, a function whose prototype was made read-only.
    const named = { class: (message: Message) => `class ${message.id}` };
    const shorthand = {
      class(message: Message): string {
        return `shorthand ${message.id}`;
      },
    };
    function classify(message: Message): string {
      return `classify ${message.id}`;
    }
    function frozen(message: Message): string {
      return `frozen ${message.id}`;
    }
    Object.defineProperty(frozen, "prototype", { writable: false });
    const handler = new Handler();
    const followers = [
      named.class,
      shorthand.class,
      classify,
      frozen,
      handler.handle.bind(handler),
      new Proxy((message: Message) => `proxy ${message.id}`, {}),
    ];
    for (const follower of followers) bus.follow("job:run", follower);
    assert.equal(bus.size, followers.length);
    const answers = await bus.talk("job:run", "job:answer");
    assert.deepEqual(answers, [
      "class job:run",
      "shorthand job:run",
      "classify job:run",
      "frozen job:run",
      "job:run",
      "proxy job:run",
    ]);
  });
});
