// Red team r30: what a bus keeps of a follower once it is unsubscribed. Its route cache (identifier →
// receivers, up to 10,000 identifiers) kept each identifier's receivers as of its last send: a follower
// unsubscribed after a send stayed reachable, with its closure and all it captured (a connection, its
// buffers), until that identifier was sent again or 10,000 others were. 100 per-connection followers
// holding 1 MB each kept 100 MB after every one was unsubscribed; a closed bus kept its followers too.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus } from "../../lib/bus.js";
import { heapUsed } from "../helpers/heap.js";
import { sleep } from "../helpers/wait-for.js";

// Collects garbage until `count()` reaches `want` (finalizers run on later ticks), or gives up.
async function collectUntil(count: () => number, want: number): Promise<number> {
  for (let i = 0; i < 20 && count() < want; i++) {
    heapUsed();
    await sleep(5);
  }
  return count();
}

describe("red team r30: an unsubscribed follower is not kept by the bus", () => {
  it("100 followers each sent to once and unsubscribed are collected, with what they captured", async () => {
    const bus = new Bus();
    let collected = 0;
    const registry = new FinalizationRegistry(() => void collected++);
    const heard: number[] = [];
    for (let i = 0; i < 100; i++) {
      const connection = { buffer: new Uint8Array(1_000_000), i };
      const follower = (): void => void heard.push(connection.i);
      registry.register(follower, i);
      const stop = bus.follow(`conn${i}:data`, follower);
      assert.equal(bus.twitter(`conn${i}:data`), 1);
      assert.equal(stop(), true);
    }
    assert.equal(heard.length, 100);
    // One may stay referenced from the engine's own caches for a while (the last call site's feedback).
    assert.ok((await collectUntil(() => collected, 100)) >= 95, `collected ${collected} of 100`);
    // Routing is as it was: a new follower of a sent identifier gets the next send; the old ones none.
    const again: string[] = [];
    bus.follow("conn7:data", () => void again.push("new"));
    assert.equal(bus.twitter("conn7:data"), 1);
    assert.equal(bus.twitter("conn8:data"), 0);
    assert.deepEqual(again, ["new"]);
    bus.close();
  });

  it("a closed bus keeps none of its followers", async () => {
    const bus = new Bus();
    let collected = 0;
    const registry = new FinalizationRegistry(() => void collected++);
    for (let i = 0; i < 20; i++) {
      const captured = new Uint8Array(100_000);
      const follower = (): void => void captured.length;
      registry.register(follower, i);
      bus.follow(`svc${i}:ping`, follower);
      bus.twitter(`svc${i}:ping`);
    }
    bus.close();
    assert.ok((await collectUntil(() => collected, 20)) >= 18, `collected ${collected} of 20`);
    assert.equal(bus.closed, true, "the bus itself is still referenced here");
  });
});
