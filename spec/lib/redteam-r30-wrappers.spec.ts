// Red team r30: autoTwitter and twitterException around a bus that is closed, or that the wrapped call
// itself closes (an instrumented stop()). Their own sends threw BusClosedError in place of the call's
// result or error: a stop() that closed its bus failed after it had succeeded, a wrapped function never
// ran once its bus closed, and twitterException replaced the error it was to rethrow (or the `undefined`
// it was to return). A thrown value whose getters throw replaced the error the same way.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { autoTwitter, BusClosedError, Bus, twitterException } from "../../lib/index.js";
import type { Message } from "../../lib/message.js";

describe("red team r30: autoTwitter and twitterException on a closed bus", () => {
  it("a wrapped stop() that closes its bus returns its result (sync) or resolves to it (async)", async () => {
    for (const mode of ["sync", "async"] as const) {
      const bus = new Bus();
      const seen: string[] = [];
      bus.follow("app:*", (m) => void seen.push(m.action));
      const body = (): string => {
        bus.close();
        return "stopped";
      };
      const stop = autoTwitter("app", { bus })(mode === "sync" ? body : async () => body());
      assert.equal(await stop(), "stopped", mode);
      assert.deepEqual(seen, ["entry"], `${mode}: entry went out before the bus closed; nothing after`);
    }
  });

  it("on a closed bus a wrapped function still runs, and its error is its own", async () => {
    const bus = new Bus();
    bus.close();
    let runs = 0;
    const double = autoTwitter("calc", { bus })((x: number) => {
      runs++;
      return x * 2;
    });
    assert.equal(double(2), 4);
    assert.equal(runs, 1);
    const original = new RangeError("original");
    const fails = autoTwitter("calc", { bus })(() => {
      throw original;
    });
    assert.throws(
      () => fails(),
      (error) => error === original,
    );
    const rejects = autoTwitter("calc", { bus })(async () => {
      throw original;
    });
    await assert.rejects(rejects(), (error) => error === original);
  });

  it("twitterException on a closed bus rethrows the error itself (reraise) or returns undefined", async () => {
    const bus = new Bus();
    bus.close();
    const original = new RangeError("original");
    const reraising = twitterException("app:failed", { bus, reraise: true })(() => {
      throw original;
    });
    assert.throws(
      () => reraising(),
      (error) => error === original && !(error instanceof BusClosedError),
    );
    const quiet = twitterException("app:failed", { bus })(() => {
      throw original;
    });
    assert.equal(quiet(), undefined);
    const quietAsync = twitterException("app:failed", { bus })(async () => {
      throw original;
    });
    assert.equal(await quietAsync(), undefined);
  });

  it("twitterException reports a thrown value whose getters or traps throw, and rethrows that value", () => {
    const bus = new Bus();
    const sent: Message[] = [];
    bus.follow("app:failed", (m) => void sent.push(m));
    const badName = new Error("bad name");
    Object.defineProperty(badName, "name", {
      get() {
        throw new Error("name getter");
      },
    });
    const trap = new Proxy(
      {},
      {
        getPrototypeOf() {
          throw new Error("trap");
        },
      },
    );
    for (const thrown of [badName, trap]) {
      const wrapped = twitterException("app:failed", { bus, reraise: true })(() => {
        throw thrown;
      });
      assert.throws(
        () => wrapped(),
        (error) => error === thrown,
      );
    }
    assert.equal(sent.length, 2, "both reported");
    assert.equal(sent[0]?.kwargs.message, "bad name");
    assert.equal(typeof sent[1]?.args[0], "string");
    bus.close();
  });
});
