import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, type Message, twitterException } from "../../lib/index.js";

function record(bus: Bus, pattern: string): Message[] {
  const got: Message[] = [];
  bus.follow(pattern, (m) => void got.push(m));
  return got;
}

describe("twitterException (berryMQ 0.3's twitter_exception)", () => {
  it("sends the identifier with the stack and { type, message }, then returns undefined", () => {
    const bus = new Bus();
    const got = record(bus, "parse:*");
    const parse = twitterException("parse:failed", { bus })((text: string) => JSON.parse(text) as unknown);
    assert.deepEqual(parse('{"a":1}'), { a: 1 }, "a call that succeeds returns its result and sends nothing");
    assert.equal(got.length, 0);
    assert.equal(parse("{"), undefined);
    assert.equal(got.length, 1);
    const [message] = got as [Message];
    assert.equal(message.id, "parse:failed");
    assert.match(String(message.args[0]), /^SyntaxError: .*\n\s+at /s, "the traceback");
    assert.equal(message.kwargs.type, "SyntaxError");
    assert.equal(typeof message.kwargs.message, "string");
  });

  it("reraise: true sends, then throws the same error; withTraceback: false sends only Name: message", () => {
    const bus = new Bus();
    const got = record(bus, "job:*");
    const boom = new RangeError("too big");
    const run = twitterException("job:error", { bus, reraise: true, withTraceback: false })(() => {
      throw boom;
    });
    assert.throws(() => run(), (e: unknown) => e === boom);
    assert.deepEqual(got.map((m) => [m.id, m.args, m.kwargs]), [["job:error", ["RangeError: too big"], { type: "RangeError", message: "too big" }]]);
  });

  it("catches a rejected promise the same way; a thrown non-Error is described", async () => {
    const bus = new Bus();
    const got = record(bus, "async:*");
    const quiet = twitterException("async:failed", { bus })(async () => Promise.reject(new Error("later")));
    assert.equal(await quiet(), undefined);
    const loud = twitterException("async:failed", { bus, reraise: true })(async () => {
      throw 42;
    });
    await assert.rejects(loud(), (e: unknown) => e === 42);
    assert.deepEqual(got.map((m) => m.kwargs), [{ type: "Error", message: "later" }, { type: "number", message: "42" }]);
    assert.equal(got[1]?.args[0], "number: 42");
  });

  it("keeps this for methods and validates the identifier at once", () => {
    const bus = new Bus();
    const got = record(bus, "obj:*");
    const obj = {
      n: 3,
      run: twitterException("obj:fail", { bus })(function (this: { n: number }) {
        throw new Error(`n=${this.n}`);
      }),
    };
    obj.run();
    assert.equal(got[0]?.kwargs.message, "n=3");
    assert.throws(() => twitterException("bad id"), /invalid identifier "bad id"/);
  });
});
