import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidEnvelopeError, LinkOverflowError, LinkUndeliveredError } from "../../bridges/errors.js";
import { Bus } from "../../lib/bus.js";
import { kw } from "../../lib/kwargs.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { sleep, waitFor } from "../helpers/wait-for.js";
import { linkConformance } from "./link-conformance.js";

linkConformance("in-process (MemoryLink)", async () => {
  const a = new Bus();
  const b = new Bus();
  const [left, right] = MemoryLink.pair({ bus: a }, { bus: b });
  return {
    a,
    b,
    close: async () => {
      await left.close();
      await right.close();
    },
  };
});

describe("Link base", () => {
  it("sends what is dispatched in one tick as one batch", async () => {
    const [left, right] = MemoryLink.pair({ bus: new Bus() }, { bus: new Bus() });
    for (let i = 0; i < 10; i++) left.bus.twitter("batch:x", i);
    await waitFor(() => left.stats.sent === 10, "10 sent");
    assert.deepEqual(left.batches, [10]);
    await left.close();
    await right.close();
  });

  it("forwards only what matches the export filters and injects only what matches the import filters", async () => {
    const [left, right] = MemoryLink.pair(
      { bus: new Bus(), exportFilters: ["public:*", "*:announce"] },
      { bus: new Bus(), importFilters: ["public:*"] },
    );
    const got: string[] = [];
    right.bus.follow("*:*", (m) => void got.push(m.id));
    left.bus.twitter("private:x");
    left.bus.twitter("public:x");
    left.bus.twitter("team:announce");
    await sleep(30);
    assert.deepEqual(got, ["public:x"], "team:announce was exported but not imported");
    await left.close();
    await right.close();
  });

  it("buffers while the far side is down, retries with backoff, and delivers in order when it is back", async () => {
    const [left, right] = MemoryLink.pair({ bus: new Bus(), retryDelay: { initial: 5, max: 20 } }, { bus: new Bus() });
    const events: string[] = [];
    left.on("down", () => void events.push("down"));
    left.on("up", () => void events.push("up"));
    left.on("error", (e) => void events.push(e.code));
    const got: number[] = [];
    right.bus.follow("seq:*", (m) => void got.push(m.args[0] as number));
    left.reachable = false;
    for (let i = 0; i < 50; i++) left.bus.twitter("seq:x", i);
    await waitFor(() => left.stats.retries >= 3, "three retries");
    assert.equal(left.backlog, 50);
    assert.equal(got.length, 0);
    left.reachable = true;
    await waitFor(() => got.length === 50, "50 delivered after recovery");
    assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => i));
    assert.deepEqual(events, ["down", "LINK_DOWN", "up"], "one down report per outage");
    await left.close();
    await right.close();
  });

  it("never holds more than bufferSize: further messages are dropped, counted and reported", async () => {
    const [left, right] = MemoryLink.pair({ bus: new Bus(), bufferSize: 5, retryDelay: { initial: 1000, max: 1000 } }, { bus: new Bus() });
    const overflows: LinkOverflowError[] = [];
    left.on("error", (e) => {
      if (e instanceof LinkOverflowError) overflows.push(e);
    });
    left.reachable = false;
    for (let i = 0; i < 8; i++) left.bus.twitter("full:x", i);
    assert.equal(left.backlog, 5);
    assert.equal(left.stats.dropped, 3);
    assert.equal(overflows.length, 3);
    assert.match(overflows[0]?.message ?? "", /buffer full \(5 messages waiting\): dropped "full:x"/);
    const report = await left.close();
    assert.equal(report.undelivered.length, 5);
    await right.close();
  });

  it("close() flushes what is buffered when the far side takes it", async () => {
    const [left, right] = MemoryLink.pair({ bus: new Bus() }, { bus: new Bus() });
    let n = 0;
    right.bus.follow("flush:*", () => void n++);
    for (let i = 0; i < 20; i++) left.bus.twitter("flush:x");
    const report = await left.close();
    assert.deepEqual(report.undelivered, []);
    assert.equal(n, 20);
    left.bus.twitter("flush:x");
    await sleep(10);
    assert.equal(n, 20, "nothing is forwarded after close");
    await right.close();
  });

  it("close() returns and reports what it could not deliver", async () => {
    const [left, right] = MemoryLink.pair({ bus: new Bus(), closeTimeout: 50, retryDelay: { initial: 5, max: 5 } }, { bus: new Bus() });
    const errors: string[] = [];
    left.on("error", (e) => void errors.push(e.code));
    left.reachable = false;
    left.bus.twitter("lost:x", kw({ why: "far side down" }));
    const report = await left.close();
    assert.equal(report.undelivered.length, 1);
    assert.equal(report.undelivered[0]?.id, "lost:x");
    assert.ok(errors.includes("LINK_UNDELIVERED"));
    await right.close();
    assert.ok(new LinkUndeliveredError("x", []).message.includes("0 message"));
  });

  it("refuses invalid frames with a typed error naming the field, and counts them", async () => {
    const [left, right] = MemoryLink.pair({ bus: new Bus() }, { bus: new Bus() });
    assert.throws(() => right.accept({ v: 1, id: "a:b" }), (e: unknown) => e instanceof InvalidEnvelopeError && e.field === "messageId");
    assert.throws(() => right.accept("nope"), InvalidEnvelopeError);
    assert.equal(right.stats.rejected, 2);
    await left.close();
    await right.close();
  });
});

