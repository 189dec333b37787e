// Red team r30 (types): a stub given a `count` (JavaScript; StubOptions has none) was made, then every
// call rejected with ask()'s "use request() for more": the count is refused when the stub is made, like
// a bad timeout or balanced.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, expose, InvalidArgumentError, stub } from "../../lib/index.js";

describe("red team r30 (types): stub count", () => {
  it("a count other than 1 is refused when the stub is made; 1 asks as before", async () => {
    const bus = new Bus();
    // biome-ignore lint/suspicious/noExplicitAny: what a JavaScript caller can pass
    const looseStub = stub as (identifier: string, options: any) => (...args: unknown[]) => Promise<unknown>;
    for (const count of [3, "all", 0, "2"]) {
      assert.throws(
        () => looseStub("calc:add", { bus, count }),
        (error: unknown) => error instanceof InvalidArgumentError && error.argument === "count",
        `count ${String(count)}`,
      );
    }
    const stop = expose("calc:add", (a: number, b: number) => a + b, { bus });
    assert.equal(await looseStub("calc:add", { bus, count: 1 })(2, 3), 5);
    assert.equal(await looseStub("calc:add", { bus })(2, 3), 5);
    stop();
    bus.close();
  });
});
