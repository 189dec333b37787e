// Red team r31 review: generators are refused as followers and exposed functions (r31), but autoTwitter
// and twitterException wrapped one: its body runs after the call returns, at each next(). autoTwitter
// sent `name:exit` before the body ran, and what the body threw escaped twitterException unreported. Both
// refuse one when the wrapper is applied, naming it (a function or, as a decorator, a method).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { autoTwitter, Bus, InvalidArgumentError, twitterException } from "../../lib/index.js";

const refused = (argument: string) => (error: unknown) =>
  error instanceof InvalidArgumentError && error.argument === argument && /not a generator/.test(error.message);

describe("red team r31 review: autoTwitter and twitterException on a generator", () => {
  it("refuse a generator or async generator function, and wrap any other as before", async (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    const sent: string[] = [];
    bus.follow("job:*", (message) => void sent.push(message.id));
    const generators = [
      function* job(fail: boolean): Generator<number> {
        if (fail) throw new Error("boom");
        yield 1;
      },
      async function* job(): AsyncGenerator<number> {
        yield 1;
      },
    ];
    for (const generator of generators) {
      assert.throws(() => autoTwitter("job", { bus })(generator), refused("autoTwitter target"));
      assert.throws(() => twitterException("job:failed", { bus })(generator), refused("twitterException target"));
    }
    const failing = twitterException("job:failed", { bus })((): number => {
      throw new Error("boom");
    });
    assert.equal(failing(), undefined);
    assert.equal(await autoTwitter("job", { bus })(async (n: number) => n)(1), 1);
    assert.deepEqual(sent, ["job:failed", "job:entry", "job:exit"]);
  });
});
