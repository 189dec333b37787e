// maxHeldAnswers: the answers held by every request waiting on a bus, together, are bounded. Without it
// 100,000 waiting requests of up to 10,000 answers each could hold a billion answers.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus } from "../../lib/bus.js";
import { InvalidArgumentError } from "../../lib/errors.js";
import { AnswerOverflowError, within } from "../../lib/index.js";

/** A bus with `n` followers of `identifier`, each answering its own number. */
function followedBy(bus: Bus, identifier: string, n: number): void {
  for (let i = 1; i <= n; i++) bus.follow(identifier, () => i);
}

describe("maxHeldAnswers", () => {
  it("an answer past the bound ends its request at once with AnswerOverflowError, carrying the answers it had", async () => {
    const bus = new Bus({ maxHeldAnswers: 5 });
    followedBy(bus, "many:x", 8);
    const started = Date.now();
    const error = await bus.request("many:x", within({ count: "all", timeout: 5_000 })).catch((failure: unknown) => failure);
    assert.ok(error instanceof AnswerOverflowError, `got ${String(error)}`);
    assert.equal(error.code, "ANSWER_OVERFLOW");
    assert.match(error.message, /"many:x".*5 answers.*maxHeldAnswers/);
    assert.deepEqual(
      error.answers.map((answer) => answer.ok && answer.value),
      [1, 2, 3, 4, 5],
    );
    assert.ok(Date.now() - started < 1_000, "ended at once, not at its timeout");
    bus.close();
  });

  it("counts every waiting request together, and gives the room back when a request ends, whichever way", async () => {
    const bus = new Bus({ maxHeldAnswers: 5 });
    followedBy(bus, "a:x", 3);
    followedBy(bus, "b:x", 3);
    followedBy(bus, "c:x", 5);
    const first = bus.request("a:x", within({ count: "all", timeout: 100 }));
    // 3 held by the first: the second gets 2 in, and its third ends it.
    const second = await bus.request("b:x", within({ count: "all", timeout: 100 })).catch((failure: unknown) => failure);
    assert.ok(second instanceof AnswerOverflowError);
    assert.equal(second.answers.length, 2);
    assert.deepEqual(
      (await first).map((answer) => answer.ok && answer.value),
      [1, 2, 3],
      "the first keeps what it held and resolves at its timeout",
    );
    // Both ended (a timeout and an overflow): the whole room is free again.
    const third = await bus.request("c:x", within({ count: 5, timeout: 100 }));
    assert.equal(third.length, 5);
    const fourth = await bus.request("c:x", within({ count: "all", timeout: 20 }));
    assert.equal(fourth.length, 5);
    bus.close();
  });

  it("`ask` holds no answer: it is not counted", async () => {
    const bus = new Bus({ maxHeldAnswers: 1 });
    followedBy(bus, "one:x", 1);
    const held = bus.request("one:x", within({ count: "all", timeout: 50 }));
    assert.equal(await bus.ask("one:x"), 1);
    assert.equal((await held).length, 1);
    bus.close();
  });

  it("is refused unless an integer >= 1, naming the option", () => {
    for (const value of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => new Bus({ maxHeldAnswers: value }),
        (error: unknown) => error instanceof InvalidArgumentError && /maxHeldAnswers/.test(error.message),
      );
    }
  });
});
