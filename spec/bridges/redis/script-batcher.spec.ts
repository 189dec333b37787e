import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Batcher } from "../../../bridges/redis/script-batcher.js";

/** A batcher whose script calls are recorded and answered by the test. */
function recording(late = false) {
  const calls: { items: readonly string[]; answer: (results: string[]) => void; fail: (error: Error) => void }[] = [];
  const batcher = new Batcher<string, string>(
    (items) =>
      new Promise((resolve, reject) => {
        calls.push({ items, answer: resolve, fail: reject });
      }),
    (item) => item.length,
    late,
  );
  return { batcher, calls };
}

const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("Batcher (the durable channel's script calls)", () => {
  it("with late, a call made a few awaits later in the same tick joins the batch (without, it goes in a call of its own)", async () => {
    for (const late of [true, false]) {
      const { batcher, calls } = recording(late);
      const first = batcher.add("a");
      await Promise.resolve();
      await Promise.resolve();
      const second = batcher.add("b");
      await settled();
      assert.deepEqual(
        calls.map((call) => call.items),
        late ? [["a", "b"]] : [["a"], ["b"]],
      );
      for (const call of calls) call.answer(call.items.map((item) => `${item}!`));
      assert.deepEqual(await Promise.all([first, second]), ["a!", "b!"]);
    }
  });

  it("claim() hands the queued calls to another call: answered by its results, waited for by idle(), failed by fail()", async () => {
    const { batcher, calls } = recording(true);
    const answered = [batcher.add("a"), batcher.add("b")];
    const claimed = batcher.claim(() => 0);
    assert.deepEqual(claimed?.items, ["a", "b"]);
    let idle = false;
    void batcher.idle().then(() => {
      idle = true;
    });
    await settled();
    assert.equal(calls.length, 0, "the claimed calls do not go out again");
    assert.equal(idle, false, "claimed calls are on their way");
    claimed?.settle(Promise.resolve(["a?", "b?"]));
    assert.deepEqual(await Promise.all(answered), ["a?", "b?"]);
    await settled();
    assert.equal(idle, true);
    const failing = batcher.add("c");
    const again = batcher.claim(() => 0);
    batcher.fail(new Error("ended"));
    await assert.rejects(failing, /ended/);
    again?.settle(Promise.resolve(["c?"])); // too late: the call stays failed
  });

  it("claim() takes nothing while IN_FLIGHT batches are on their way (no more calls of a kind on their way than before)", async () => {
    const { batcher, calls } = recording();
    const answers = [batcher.add("a")];
    await settled();
    answers.push(batcher.add("b"));
    await settled();
    assert.equal(calls.length, 2, "two batches on their way");
    answers.push(batcher.add("c"));
    assert.equal(
      batcher.claim(() => 0),
      undefined,
    );
    calls[0]?.answer(["a!"]);
    await settled();
    assert.deepEqual(
      calls.map((call) => call.items),
      [["a"], ["b"], ["c"]],
      "the queued call went in a batch of its own once one was answered",
    );
    calls[1]?.answer(["b!"]);
    calls[2]?.answer(["c!"]);
    assert.deepEqual(await Promise.all(answers), ["a!", "b!", "c!"]);
  });

  it("claim() keeps within MAX_BATCH_BYTES with the carrying call, and never takes a call bigger than the room", async () => {
    const { batcher, calls } = recording(true);
    const big = "x".repeat(900_000);
    const answers = [batcher.add("small"), batcher.add(big)];
    assert.deepEqual(batcher.claim(() => 200_000)?.items, ["small"], "the big one would pass 1 MiB with the carrier's 200 KB");
    assert.equal(
      batcher.claim(() => 200_000),
      undefined,
    );
    await settled();
    assert.deepEqual(
      calls.map((call) => call.items.map((item) => item.length)),
      [[900_000]],
      "it goes in a call of its own",
    );
    calls[0]?.answer(["big!"]);
    assert.equal(await answers[1], "big!");
  });
});
