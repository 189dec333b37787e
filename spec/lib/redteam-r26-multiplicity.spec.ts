// Red team r26, deliveries waiting for a multiplicity slot: a release started the next waiting delivery
// inside itself, so 2,600 waiting synchronous followers overflowed the stack (most never ran, the bus was
// left broken); a waiting delivery still ran after its follower was removed or the bus closed; and a
// method follower whose instance was collected while it waited put an internal marker in talk()'s results.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, following, type Message } from "../../lib/index.js";

// A follower that holds the one slot until `release()`.
function holdSlot(bus: Bus, pattern: string): () => void {
  let release: () => void = () => {};
  bus.follow(pattern, () => new Promise<void>((resolve) => (release = resolve)));
  return () => release();
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe("deliveries waiting for a multiplicity slot (r26)", () => {
  it("50,000 waiting synchronous deliveries all run, in order, and the bus still works after", async () => {
    const bus = new Bus({ multiplicity: 1 });
    const failures: unknown[] = [];
    const unhandled = (error: unknown): void => void failures.push(error);
    process.on("unhandledRejection", unhandled);
    try {
      const release = holdSlot(bus, "slow:x");
      const ran: number[] = [];
      bus.follow("fast:x", (message) => void ran.push(message.args[0] as number));
      bus.twitter("slow:x");
      const n = 50_000;
      for (let i = 0; i < n; i++) bus.twitter("fast:x", i);
      assert.equal(ran.length, 0);
      release();
      for (let i = 0; i < 20 && ran.length < n; i++) await turn();
      assert.equal(ran.length, n, "every waiting delivery ran");
      assert.ok(
        ran.every((value, i) => value === i),
        "in the order sent",
      );
      assert.equal(bus.twitter("fast:x", "later"), 1);
      assert.equal(ran.length, n + 1, "a slot is free: a later send runs at once");
      assert.deepEqual(failures, []);
    } finally {
      process.off("unhandledRejection", unhandled);
      bus.close();
    }
  });

  it("a waiting delivery whose follower was unsubscribed is skipped", async () => {
    const bus = new Bus({ multiplicity: 1 });
    const release = holdSlot(bus, "a:b");
    const ran: unknown[] = [];
    const stop = bus.follow("a:b", (message) => void ran.push(message.args[0]));
    assert.equal(bus.twitter("a:b", 1), 2);
    assert.equal(stop(), true);
    release();
    await turn();
    assert.deepEqual(ran, [], "removed before it ran: skipped, as the README says");
    bus.close();
  });

  it("a waiting delivery of an unregistered instance is skipped", async () => {
    const bus = new Bus({ multiplicity: 1 });
    const release = holdSlot(bus, "a:b");
    const ran: unknown[] = [];
    class Watcher {
      @following("a:b")
      seen(message: Message): void {
        ran.push(message.args[0]);
      }
    }
    const watcher = new Watcher();
    bus.register(watcher);
    bus.twitter("a:b", 1);
    assert.equal(bus.unregister(watcher), true);
    release();
    await turn();
    assert.deepEqual(ran, []);
    bus.close();
  });

  it("waiting deliveries do not run once the bus is closed", async () => {
    const bus = new Bus({ multiplicity: 1 });
    const release = holdSlot(bus, "a:b");
    const ran: unknown[] = [];
    bus.follow("a:b", (message) => void ran.push(message.args[0]));
    bus.twitter("a:b", 1);
    bus.close();
    release();
    await turn();
    assert.deepEqual(ran, []);
  });

  it("talk() leaves out a waiting method follower whose instance was collected", async () => {
    const gc = globalThis.gc;
    assert.ok(gc, "run with node --expose-gc (npm test does)");
    const bus = new Bus({ multiplicity: 1 });
    let release: () => void = () => {};
    bus.follow("calc:add", () => new Promise<number>((resolve) => (release = () => resolve(1))));
    class Adder {
      @following("calc:add")
      add(message: Message): number {
        return (message.args[0] as number) + 1;
      }
    }
    (() => {
      bus.register(new Adder());
    })();
    const talking = bus.talk("calc:add", "calc:result", 41);
    for (let i = 0; i < 5; i++) {
      await turn();
      gc();
      await turn();
    }
    release();
    assert.deepEqual(await talking, [1], "no marker, no answer from the collected instance");
    bus.close();
  });
});
