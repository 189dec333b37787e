// Red team r26: a follower's result had its `then` read once inside #invoke's try and again outside it
// (to send its answer, in talk()'s Promise.all, by the multiplicity limiter). A result whose `then` throws
// on the second read (a getter, a Proxy's trap) made request() and talk() reject with that error, kept the
// followers after it from running, and threw out of inject().
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, createMessage, within } from "../../lib/index.js";

// An object whose `then` is undefined on the first read and throws on every later one.
function sly(): object {
  let reads = 0;
  return new Proxy(
    {},
    {
      get(_target, key) {
        if (key === "then" && reads++ > 0) throw new Error("then trap");
        return undefined;
      },
    },
  );
}

for (const multiplicity of [undefined, 1]) {
  describe(`a result whose then throws when read again (r26, multiplicity ${multiplicity ?? "unbounded"})`, () => {
    const setUp = () => {
      const bus = new Bus(multiplicity === undefined ? {} : { multiplicity });
      const errors: Error[] = [];
      bus.on("error", (error) => void errors.push(error));
      // A fresh one per call: its first read must find no `then`.
      let result = sly();
      bus.follow("sly:q", () => {
        result = sly();
        return result;
      });
      let second = 0;
      bus.follow("sly:q", () => {
        second++;
        return "second";
      });
      return { bus, last: () => result, errors, runs: () => second };
    };

    it("request() gets both answers", async () => {
      const { bus, last, runs } = setUp();
      const answers = await bus.request("sly:q", within({ count: 2, timeout: 1_000 }));
      assert.equal(answers.length, 2);
      assert.ok(answers[0]?.ok && answers[0].value === last());
      assert.ok(answers[1]?.ok && answers[1].value === "second");
      assert.equal(runs(), 1);
      bus.close();
    });

    it("talk() resolves to both results, the object itself first", async () => {
      const { bus, last, runs } = setUp();
      const results = await bus.talk("sly:q", "sly:r");
      assert.equal(results.length, 2);
      assert.equal(results[0], last());
      assert.equal(results[1], "second");
      assert.equal(runs(), 1);
      bus.close();
    });

    it("inject() and injectSettled() of a request do not throw, and every follower runs", async () => {
      const { bus, runs, errors } = setUp();
      const request = createMessage({ identifier: "sly:q", messageId: "far/1", hops: ["far"], replyTo: "sly:r" });
      assert.equal(bus.inject(request), 2);
      const settled = await bus.injectSettled(createMessage({ identifier: "sly:q", messageId: "far/2", hops: ["far"] }));
      assert.equal(settled, 2);
      assert.equal(runs(), 2);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(errors, []);
      bus.close();
    });
  });
}
