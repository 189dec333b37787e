// r31 (found by the decorators red team, fixed after it): `autoTwitter` and `twitterException` took a `bus`
// option that is no Bus (or options that are no object), and every call of the wrapped function then threw
// "bus.twitter is not a function" (or "Cannot read properties of null") in the place of its result, or of
// the error `twitterException` was to report. They are refused when the wrapper is made, naming the value,
// as `@Follower` and `@following` options are.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { autoTwitter, Bus, InvalidArgumentError, twitterException } from "../../lib/index.js";

const refusal = (argument: string) => (error: unknown) =>
  error instanceof InvalidArgumentError && error.argument === argument && /expected an? /.test(error.message);

describe("r31 autoTwitter and twitterException options", () => {
  it("a bus option that is no Bus is refused when the wrapper is made, naming it", () => {
    for (const bus of [{}, "bus", 42, null, { register() {} }]) {
      assert.throws(() => autoTwitter("job", { bus: bus as never }), refusal("autoTwitter option bus"));
      assert.throws(() => twitterException("job:failed", { bus: bus as never }), refusal("twitterException option bus"));
    }
  });

  it("options that are no object are refused, naming them", () => {
    for (const options of [null, "fast", 1]) {
      assert.throws(() => autoTwitter("job", options as never), refusal("autoTwitter options"));
      assert.throws(() => twitterException("job:failed", options as never), refusal("twitterException options"));
    }
  });

  it("a Bus, or none, is taken as before", (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    const got: string[] = [];
    bus.follow("job:*", (message) => void got.push(message.id));
    const run = autoTwitter("job", { bus })((n: number) => n * 2);
    assert.equal(run(21), 42);
    const fail = twitterException("job:failed", { bus })((): number => {
      throw new Error("boom");
    });
    assert.equal(fail(), undefined);
    assert.deepEqual(got, ["job:entry", "job:exit", "job:failed"]);
    assert.equal(typeof autoTwitter("job"), "function");
    assert.equal(typeof twitterException("job:failed"), "function");
  });
});
