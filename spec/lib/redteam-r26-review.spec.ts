// Review of r26's own fixes: a drop-oldest queue on a budget reported each dropped message inside its loop,
// so an `error` listener that closed the queue (or the bus) left the budget counting a message of a closed
// buffer for good, and one that filled the budget from another queue emptied the buffer under the loop
// (twitter() threw a TypeError, the message lost); a follower returning a native promise whose own `then`
// or `constructor` throws threw out of a dispatch; and a request whose delivery waited for a multiplicity
// slot, its follower removed meanwhile, heard nothing until its timeout.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type BerryError,
  Bus,
  expose,
  FollowerRemovedError,
  type Message,
  Queue,
  QueueBudget,
  RemoteError,
  within,
} from "../../lib/index.js";

const text = (n: number): string => "x".repeat(n);

describe("review of r26: budgets, promises, removed followers", () => {
  for (const how of ["queue", "bus"] as const) {
    it(`a drop-oldest queue closed (its ${how}) by an error listener while it makes room gives the budget everything back`, () => {
      const bus = new Bus();
      const budget = new QueueBudget(100);
      const logs = new Queue("log:*", { bus, budget, overflow: "drop-oldest" });
      const images = new Queue("img:*", { bus, budget });
      bus.once("error", () => (how === "bus" ? bus.close() : logs.close()));
      bus.twitter("log:a", text(40));
      bus.twitter("log:a", text(40));
      bus.twitter("log:a", text(40)); // the first is dropped, reported: the listener closes
      assert.equal(budget.held, 0, "nothing is held by a closed queue");
      if (how === "queue") {
        const refused: BerryError[] = [];
        bus.on("error", (error: BerryError) => void refused.push(error));
        bus.twitter("img:a", text(80));
        assert.deepEqual(refused, [], "the other queue on the budget has its room");
        assert.equal(images.qsize(), 1);
      }
    });
  }

  it("an error listener that moves dropped messages to another queue on the budget: twitter() returns, every follower runs", () => {
    const bus = new Bus();
    const budget = new QueueBudget(100);
    const logs = new Queue("log:*", { bus, budget, overflow: "drop-oldest" });
    const dead = new Queue("dead:*", { bus, budget, overflow: "drop-oldest" });
    let after = 0;
    bus.follow("log:*", () => void after++);
    bus.on("error", (error: BerryError & { dropped?: Message }) => {
      if (error.code === "QUEUE_OVERFLOW" && error.dropped?.id === "log:a") bus.twitter("dead:log", ...error.dropped.args);
    });
    bus.twitter("log:a", text(40));
    bus.twitter("log:a", text(40));
    assert.doesNotThrow(() => bus.twitter("log:a", text(40)));
    assert.equal(after, 3, "the follower after the queue ran for every message");
    assert.ok(budget.held <= 100, `held ${budget.held} within the budget`);
    assert.equal(budget.held, logs.qsize() * 46 + dead.qsize() * 46, "held is what the queues hold");
  });

  for (const kind of ["then", "constructor"] as const) {
    it(`a follower returning a native promise whose own ${kind} throws is reported; the followers after it run`, () => {
      const bus = new Bus();
      const errors: BerryError[] = [];
      bus.on("error", (error: BerryError) => void errors.push(error));
      let after = false;
      bus.follow("p:x", () => {
        const promise = Promise.resolve(1);
        if (kind === "then")
          // biome-ignore lint/suspicious/noThenProperty: the hostile result under test
          Object.defineProperty(promise, "then", {
            value: () => {
              throw new Error("then boom");
            },
          });
        else
          Object.defineProperty(promise, "constructor", {
            get() {
              throw new Error("constructor boom");
            },
          });
        return promise;
      });
      bus.follow("p:x", () => {
        after = true;
      });
      assert.doesNotThrow(() => bus.twitter("p:x"));
      assert.equal(after, true);
      assert.equal(errors.length, 1);
      assert.match(String((errors[0] as BerryError & { cause?: unknown }).message), /boom/);
    });
  }

  it("a request whose follower is removed while its delivery waits for a slot gets an error answer at once", async () => {
    const bus = new Bus({ multiplicity: 1 });
    let release: () => void = () => {};
    bus.follow("hold:x", () => new Promise<void>((resolve) => (release = resolve)));
    const stop = bus.follow("calc:add", (message) => (message.args[0] as number) + 1);
    bus.twitter("hold:x");
    const asked = bus.ask("calc:add", 41, within({ timeout: 5_000 }));
    stop();
    const started = Date.now();
    release();
    await assert.rejects(asked, (error: unknown) => {
      assert.ok(error instanceof RemoteError, String(error));
      assert.equal((error as RemoteError).remoteName, "FollowerRemovedError");
      return true;
    });
    assert.ok(Date.now() - started < 1_000, "not its timeout");
    assert.equal(new FollowerRemovedError("f", { id: "a:b", messageId: "m" }).code, "FOLLOWER_REMOVED");
  });

  it("expose() reads its result's then once, as a plain follower's is read (requests review r26)", async () => {
    const bus = new Bus();
    bus.on("error", () => undefined);
    // A `then` that is nothing on its first read and a function (or a throw) on the next.
    const readOnce = () => {
      let reads = 0;
      return {
        tag: "object",
        // biome-ignore lint/suspicious/noThenProperty: the result under test
        get then() {
          reads++;
          if (reads === 1) return undefined;
          return (resolve: (value: unknown) => void) => resolve("read again");
        },
      };
    };
    const throwsAgain = () => {
      let reads = 0;
      return {
        tag: "object",
        // biome-ignore lint/suspicious/noThenProperty: the result under test
        get then() {
          reads++;
          if (reads > 1) throw new Error("then read twice");
          return undefined;
        },
      };
    };
    expose("e:once", readOnce, { bus });
    expose("e:throws", throwsAgain, { bus });
    for (const id of ["e:once", "e:throws"]) {
      const [answer] = await bus.request(id, within({ timeout: 1_000 }));
      assert.ok(answer?.ok === true, `${id}: ${answer?.ok === false ? answer.error.message : "no answer"}`);
      assert.equal((answer.value as { tag?: string }).tag, "object", id);
      const talked = await bus.talk(id, "cb:x");
      assert.deepEqual(
        talked.map((value) => (value as { tag?: string }).tag),
        ["object"],
        id,
      );
    }
    bus.close();
  });
});
