import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, InvalidArgumentError } from "../../lib/index.js";
import { sleep, waitFor } from "../helpers/wait-for.js";

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("multiplicity (bound on followers running at once)", () => {
  it("never runs more async followers at once than the bound, and runs them all in order", async () => {
    const bus = new Bus({ multiplicity: 2 });
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    bus.follow("work:*", async (m) => {
      started.push(m.args[0] as number);
      running++;
      peak = Math.max(peak, running);
      await sleep(10);
      running--;
    });
    for (let i = 0; i < 8; i++) assert.equal(bus.twitter("work:do", i), 1, "counted even when queued");
    assert.deepEqual(started, [0, 1], "two start at once, the rest wait");
    await waitFor(() => started.length === 8 && running === 0, "all eight to finish");
    assert.equal(peak, 2);
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it("talk() awaits followers that had to wait for a slot", async () => {
    const bus = new Bus({ multiplicity: 1 });
    const gate = deferred();
    bus.follow("t:*", async () => {
      await gate.promise;
      return "first";
    });
    bus.follow("t:*", () => "second");
    const answer = bus.talk("t:go", "t:answer");
    await sleep(5);
    gate.resolve();
    assert.deepEqual(await answer, ["first", "second"]);
  });

  it("followers that waited for a slot answer in registration order: ask() gets the first one's value, not the second one's failure", async () => {
    const bus = new Bus({ multiplicity: 1 });
    bus.on("error", () => {});
    const gate = deferred();
    bus.follow("busy:*", () => gate.promise);
    bus.twitter("busy:now"); // holds the only slot
    bus.follow("calc:sum", (m) => (m.args as number[]).reduce((a, b) => a + b, 0));
    bus.follow("calc:sum", () => {
      throw new RangeError("overflow");
    });
    const first = bus.ask("calc:sum", 1, 2);
    const both = bus.request("calc:sum", 1, 2);
    gate.resolve();
    assert.equal(await first, 3);
    const answers = await both;
    assert.deepEqual(
      answers.map((answer) => (answer.ok ? answer.value : answer.error.remoteName)),
      [3],
      "a request's default is the first answer",
    );
    bus.close();
  });

  it("raising the bound starts waiting followers; Infinity removes it", async () => {
    const bus = new Bus();
    assert.equal(bus.multiplicity, Number.POSITIVE_INFINITY);
    bus.setMultiplicity(1);
    const gate = deferred();
    const started: number[] = [];
    bus.follow("r:*", async (m) => {
      started.push(m.args[0] as number);
      await gate.promise;
    });
    bus.twitter("r:x", 1);
    bus.twitter("r:x", 2);
    bus.twitter("r:x", 3);
    assert.deepEqual(started, [1]);
    bus.setMultiplicity(3);
    assert.deepEqual(started, [1, 2, 3]);
    gate.resolve();
    bus.setMultiplicity(Number.POSITIVE_INFINITY);
    assert.equal(bus.multiplicity, Number.POSITIVE_INFINITY);
  });

  it("a follower that throws frees its slot", async () => {
    const bus = new Bus({ multiplicity: 1 });
    bus.on("error", () => {});
    let ran = 0;
    bus.follow("e:*", () => {
      ran++;
      throw new Error("x");
    });
    bus.twitter("e:x");
    bus.twitter("e:x");
    assert.equal(ran, 2);
  });

  it("refuses a bound that is not a positive integer", () => {
    assert.throws(() => new Bus({ multiplicity: 0 }), InvalidArgumentError);
    assert.throws(() => new Bus().setMultiplicity(2.5), /invalid multiplicity 2.5/);
  });
});
