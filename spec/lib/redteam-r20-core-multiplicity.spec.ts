// Red team r20: deliveries waiting for a multiplicity slot were unbounded. A flood into slow followers
// (a bridge server feeding a bus with `multiplicity: 1`, say) kept every message in memory until the
// process died. `maxWaiting` bounds them: one more is dropped, reported, not counted, and an asker hears
// of it as of a failed follower.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type BerryError, Bus, DeliveryOverflowError, InvalidArgumentError, RemoteError, within } from "../../lib/index.js";

describe("deliveries waiting for a multiplicity slot (maxWaiting)", () => {
  it("past maxWaiting a delivery is dropped and reported; the waiting ones run once a slot frees", async () => {
    const bus = new Bus({ multiplicity: 1, maxWaiting: 3 });
    const errors: BerryError[] = [];
    bus.on("error", (error) => void errors.push(error));
    const started: unknown[] = [];
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    bus.follow(
      "job:*",
      async (message) => {
        started.push(message.args[0]);
        await held;
      },
      { label: "slow" },
    );
    const counts = [0, 1, 2, 3, 4, 5].map((n) => bus.twitter("job:run", n));
    assert.deepEqual(counts, [1, 1, 1, 1, 0, 0], "one runs, three wait, two are dropped (not counted)");
    assert.deepEqual(started, [0]);
    assert.equal(errors.length, 2);
    for (const [i, error] of errors.entries()) {
      assert.ok(error instanceof DeliveryOverflowError);
      assert.equal(error.code, "DELIVERY_OVERFLOW");
      assert.equal(error.follower, "slow");
      assert.deepEqual((error.dropped as { args: unknown[] }).args, [4 + i]);
      assert.match(error.message, /maxWaiting/);
    }
    release();
    for (let i = 0; i < 10 && started.length < 4; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(started, [0, 1, 2, 3]);
    bus.close();
  });

  it("a request whose delivery is dropped is answered with the error at once", async () => {
    const bus = new Bus({ multiplicity: 1, maxWaiting: 1 });
    bus.on("error", () => {});
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    bus.follow("calc:add", async (message) => {
      await held;
      return (message.args[0] as number) + (message.args[1] as number);
    });
    const first = bus.ask<number>("calc:add", 1, 2, within({ timeout: 5_000 }));
    const second = bus.ask<number>("calc:add", 3, 4, within({ timeout: 5_000 }));
    const third = bus.ask<number>("calc:add", 5, 6, within({ timeout: 5_000 }));
    const refused = await third.then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(refused instanceof RemoteError, `a RemoteError, not a timeout: ${String(refused)}`);
    assert.match(refused.message, /DeliveryOverflowError|maxWaiting/);
    release();
    assert.equal(await first, 3);
    assert.equal(await second, 7);
    bus.close();
  });

  it("refuses a maxWaiting that is not an integer >= 1, naming it", () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => new Bus({ maxWaiting: bad }), (error: unknown) => error instanceof InvalidArgumentError && /maxWaiting/.test(error.message));
    }
  });
});
