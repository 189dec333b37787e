// Red team r31, compiled in both decorator modes like decorators.spec.ts: many instances of one
// `@Follower` class, dropped or unregistered. Their followers were all freed, but each was spliced out
// of its pattern's list, which cost the list's length: time in n². 100,000 dropped instances held the
// event loop ~7.6 s in their finalizers (64,000 sent a message first: 3 s); 40,000 unregister() calls
// took 1.5 s.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, Follower, following, type Message } from "../../lib/index.js";

const mode = import.meta.url.includes("/.build/legacy/") ? "legacy" : "standard";

function classOn(bus: Bus, got?: string[]) {
  @Follower({ bus })
  class Session {
    constructor(readonly n: number) {}
    @following("session:tick")
    tick(_message: Message): void {
      got?.push(`tick ${this.n}`);
    }
    @following("session:*")
    any(message: Message): void {
      got?.push(`${message.action} ${this.n}`);
    }
  }
  return Session;
}

/**
 * Builds and drops `n` instances, sends them a message once collected (it finds them gone and removes
 * their followers, which their finalizers remove again), and collects until `bus` has no follower left.
 * @returns the ms spent outside `gc()` (whose own time grows with the heap, whatever the bus does).
 */
async function dropAndCollect(bus: Bus, Session: ReturnType<typeof classOn>, n: number): Promise<number> {
  const gc = globalThis.gc;
  assert.ok(gc, "needs node --expose-gc (npm test passes it)");
  (() => {
    for (let i = 0; i < n; i++) new Session(i);
  })();
  gc();
  let start = performance.now();
  bus.twitter("session:tick");
  let spent = 0;
  for (let round = 0; round < 100 && bus.size > 0; round++) {
    await new Promise((resolve) => setImmediate(resolve));
    spent += performance.now() - start;
    gc();
    start = performance.now();
  }
  assert.equal(bus.size, 0);
  return spent;
}

describe(`r31 many instances of one @Follower class (${mode} decorators)`, () => {
  it("unregistering n instances takes time in proportion to n, not n²", (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    const Session = classOn(bus);
    // The faster of two runs, in ms: building the instances is not counted.
    const unregisterAll = (n: number) => {
      let best = Number.POSITIVE_INFINITY;
      for (let run = 0; run < 2; run++) {
        const sessions = Array.from({ length: n }, (_, i) => new Session(i));
        const start = performance.now();
        for (const session of sessions) bus.unregister(session);
        best = Math.min(best, performance.now() - start);
        assert.equal(bus.size, 0);
      }
      return best;
    };
    // Linear: ~8× (5–11× measured); n² made it 50–130×. Up to 3 tries: a loaded machine can slow one
    // measurement 3-fold, never the n² cost 5-fold.
    let seen = "";
    for (let attempt = 0; attempt < 3; attempt++) {
      const small = unregisterAll(5_000);
      const large = unregisterAll(40_000);
      if (large < Math.max(small, 1) * 25) return;
      seen += ` 5,000 took ${small.toFixed(1)} ms, 40,000 took ${large.toFixed(1)} ms;`;
    }
    assert.fail(`not in proportion in 3 tries:${seen}`);
  });

  it("collecting n dropped instances takes time in proportion to n, not n²", async (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    const Session = classOn(bus);
    // Linear: ~16× (12–28× measured); n² made it 145–155× (64,000: 2.6–3 s, the event loop held). Up to 3
    // tries, as above.
    let seen = "";
    for (let attempt = 0; attempt < 3; attempt++) {
      const small = Math.min(await dropAndCollect(bus, Session, 4_000), await dropAndCollect(bus, Session, 4_000));
      const large = await dropAndCollect(bus, Session, 64_000);
      if (large < Math.max(small, 1) * 80) return;
      seen += ` 4,000 took ${small.toFixed(0)} ms, 64,000 took ${large.toFixed(0)} ms;`;
    }
    assert.fail(`not in proportion in 3 tries:${seen}`);
  });

  it("a follower removed from a long list is not kept in its place: what it captured is collected", async (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    const others = Array.from({ length: 200 }, () => bus.follow("session:tick", () => {}));
    let freed = false;
    const registry = new FinalizationRegistry(() => {
      freed = true;
    });
    // Subscribed and unsubscribed in here: the unsubscribe function holds the follower too.
    (() => {
      const captured = { big: new Array(1_000).fill(1) };
      registry.register(captured, "captured");
      const stop = bus.follow("session:tick", () => void captured.big.length);
      assert.equal(bus.twitter("session:tick"), 201);
      assert.equal(stop(), true);
      assert.equal(stop(), false);
    })();
    assert.equal(bus.twitter("session:tick"), 200);
    const gc = globalThis.gc;
    assert.ok(gc, "needs node --expose-gc (npm test passes it)");
    for (let round = 0; round < 20 && !freed; round++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(freed, true);
    for (const other of others) other();
    assert.equal(bus.size, 0);
  });

  it("through any removals, the others receive in registration order; unfollow comes once, at the last", (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    const got: string[] = [];
    const Session = classOn(bus, got);
    const unfollowed: string[] = [];
    bus.on("unfollow", (pattern) => unfollowed.push(pattern.id));
    const sessions = Array.from({ length: 300 }, (_, i) => new Session(i));
    // Every third, then the first half of the rest, then every other of what is left: lists shrink past
    // every threshold, from either end and the middle.
    const kept = new Set(sessions);
    const drop = (session: InstanceType<typeof Session>) => {
      assert.equal(bus.unregister(session), true);
      assert.equal(bus.unregister(session), false);
      kept.delete(session);
    };
    for (const session of sessions.filter((_, i) => i % 3 === 0)) drop(session);
    for (const session of [...kept].slice(0, kept.size / 2)) drop(session);
    for (const session of [...kept].filter((_, i) => i % 2 === 1)) drop(session);
    assert.deepEqual(unfollowed, []);
    assert.equal(bus.twitter("session:tick"), kept.size * 2);
    assert.deepEqual(
      got,
      [...kept].flatMap((session) => [`tick ${session.n}`, `tick ${session.n}`]),
    );
    for (const session of [...kept].reverse()) drop(session);
    assert.deepEqual(unfollowed.sort(), ["session:*", "session:tick"]);
    assert.equal(bus.size, 0);
    assert.equal(bus.twitter("session:tick"), 0);
    const again = new Session(1_000);
    got.length = 0;
    assert.equal(bus.twitter("session:tick"), 2);
    assert.deepEqual(got, ["tick 1000", "tick 1000"]);
    bus.unregister(again);
  });
});
