import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { InvalidEnvelopeError, LinkOverflowError, LinkUndeliveredError } from "../../bridges/errors.js";
import { Bus } from "../../lib/bus.js";
import { kw } from "../../lib/kwargs.js";
import { within } from "../../lib/request.js";
import { RequestTimeoutError } from "../../lib/request-errors.js";
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

  it("splits what is dispatched in one tick into batches of at most maxBatch, in order, small and large (past 1,024) alike", async () => {
    for (const [maxBatch, count, sizes] of [
      [1, 3, [1, 1, 1]],
      [4, 10, [4, 4, 2]],
      [5_000, 3_000, [3_000]],
      [2_000, 4_500, [2_000, 2_000, 500]],
    ] as const) {
      const [left, right] = MemoryLink.pair({ bus: new Bus(), maxBatch }, { bus: new Bus() });
      const got: number[] = [];
      right.bus.follow("batch:x", (m) => void got.push(m.args[0] as number));
      // The first neighbour list goes first: one going with a batch counts against maxBatch (r27 review).
      await sleep(10);
      for (let i = 0; i < count; i++) left.bus.twitter("batch:x", i);
      await waitFor(() => left.stats.sent === count, `${count} sent`);
      assert.deepEqual(left.batches, sizes);
      assert.deepEqual(
        got,
        Array.from({ length: count }, (_, i) => i),
      );
      await left.close();
      await right.close();
    }
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
    assert.deepEqual(
      got,
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.deepEqual(events, ["down", "LINK_DOWN", "up"], "one down report per outage");
    await left.close();
    await right.close();
  });

  it("never holds more than bufferSize: further messages are dropped, counted and reported", async () => {
    const [left, right] = MemoryLink.pair(
      { bus: new Bus(), bufferSize: 5, retryDelay: { initial: 1000, max: 1000 } },
      { bus: new Bus() },
    );
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
    const [left, right] = MemoryLink.pair(
      { bus: new Bus(), closeTimeout: 50, retryDelay: { initial: 5, max: 5 } },
      { bus: new Bus() },
    );
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
    assert.throws(
      () => right.accept({ v: 1, id: "a:b" }),
      (e: unknown) => e instanceof InvalidEnvelopeError && e.field === "messageId",
    );
    assert.throws(() => right.accept("nope"), InvalidEnvelopeError);
    assert.equal(right.stats.rejected, 2);
    await left.close();
    await right.close();
  });
});

/** Links every listed pair of buses with MemoryLinks; returns the links. */
function connect(
  buses: Bus[],
  edges: [number, number][],
  exports?: (from: number, to: number) => string[] | undefined,
): MemoryLink[] {
  const links: MemoryLink[] = [];
  for (const [i, j] of edges) {
    const left = exports?.(i, j);
    const right = exports?.(j, i);
    links.push(
      ...MemoryLink.pair(
        { bus: buses[i] as Bus, ...(left ? { exportFilters: left } : {}) },
        { bus: buses[j] as Bus, ...(right ? { exportFilters: right } : {}) },
      ),
    );
  }
  return links;
}

/** Counts each bus's deliveries of `pattern`, by messageId. */
function countDeliveries(buses: Bus[], pattern: string): Map<string, number>[] {
  return buses.map((bus) => {
    const seen = new Map<string, number>();
    bus.follow(pattern, (m) => void seen.set(m.messageId, (seen.get(m.messageId) ?? 0) + 1));
    return seen;
  });
}

const crossed = (links: MemoryLink[]): number =>
  links.reduce((sum, link) => sum + link.stats.received + link.stats.duplicates, 0);

describe("Link routing in meshes", () => {
  it("a full mesh of 4 carries each message over each link at most once, and delivers it once everywhere", async () => {
    const buses = Array.from({ length: 4 }, (_, i) => new Bus({ id: `mesh${i}` }));
    const edges: [number, number][] = [
      [0, 1],
      [0, 2],
      [0, 3],
      [1, 2],
      [1, 3],
      [2, 3],
    ];
    const links = connect(buses, edges);
    const seen = countDeliveries(buses, "mesh:*");
    await sleep(20); // the links tell each other their neighbours
    for (let i = 0; i < 40; i++) (buses[i % 4] as Bus).twitter("mesh:x", i);
    await waitFor(() => seen.every((s) => s.size === 40), "40 messages on every bus");
    await sleep(50);
    assert.ok(
      seen.every((s) => [...s.values()].every((n) => n === 1)),
      "each message delivered once per bus",
    );
    assert.equal(crossed(links), 40 * 3, "each message crossed 3 links (from its origin), not re-forwarded");
    for (const link of links) await link.close();
  });

  it("still forwards what the sender's own link to that bus does not export", async () => {
    const buses = Array.from({ length: 3 }, (_, i) => new Bus({ id: `part${i}` }));
    // 0 sends only "x:*" to 2 directly; "y:*" must reach 2 through 1.
    const links = connect(
      buses,
      [
        [0, 1],
        [0, 2],
        [1, 2],
      ],
      (from, to) => (from === 0 && to === 2 ? ["x:*"] : undefined),
    );
    const seen = countDeliveries(buses, "*:*");
    await sleep(20);
    (buses[0] as Bus).twitter("x:1");
    (buses[0] as Bus).twitter("y:1");
    await waitFor(() => seen[2]?.size === 2, "x:1 and y:1 on bus 2");
    await sleep(50);
    assert.ok(seen.every((s) => [...s.values()].every((n) => n === 1)));
    for (const link of links) await link.close();
  });

  it("rings and chains deliver everywhere exactly once", async () => {
    for (const edges of [
      [
        [0, 1],
        [1, 2],
        [2, 3],
        [3, 4],
        [4, 0],
      ],
      [
        [0, 1],
        [1, 2],
        [2, 3],
        [3, 4],
      ],
    ] as [number, number][][]) {
      const buses = Array.from({ length: 5 }, () => new Bus());
      const links = connect(buses, edges);
      const seen = countDeliveries(buses, "ring:*");
      await sleep(20);
      for (let i = 0; i < 10; i++) (buses[(i * 3) % 5] as Bus).twitter("ring:x", i);
      await waitFor(() => seen.every((s) => s.size === 10), "10 messages on every bus");
      await sleep(50);
      assert.ok(
        seen.every((s) => [...s.values()].every((n) => n === 1)),
        "exactly once",
      );
      for (const link of links) await link.close();
    }
  });

  it("routes answers back along the request's path to the asker only, several hops away", async () => {
    // A chain 0-1-2-3 and a spoke 1-4: 0 asks, 3 and 4 answer.
    const buses = Array.from({ length: 5 }, (_, i) => new Bus({ id: `hop${i}` }));
    const links = connect(buses, [
      [0, 1],
      [1, 2],
      [2, 3],
      [1, 4],
    ]);
    (buses[3] as Bus).follow("far:sum", (m) => (m.args as number[]).reduce((a, b) => a + b, 0));
    (buses[4] as Bus).follow("far:sum", () => "from 4");
    const answers = await (buses[0] as Bus).request("far:sum", 1, 2, within({ count: 2, timeout: 5_000 }));
    assert.deepEqual(answers.map((a) => a.ok && a.value).sort(), [3, "from 4"].sort());
    assert.deepEqual(answers.map((a) => a.bus).sort(), ["hop3", "hop4"]);
    await sleep(50);
    const answersInto = (bus: Bus): number => links.filter((l) => l.bus === bus).reduce((sum, l) => sum + l.answersReceived, 0);
    assert.equal(answersInto(buses[4] as Bus), 0, "3's answer did not go to bus 4");
    assert.equal(answersInto(buses[3] as Bus), 0, "4's answer did not go to bus 3");
    assert.equal(answersInto(buses[2] as Bus), 1, "3's answer passed 2 only on its way");
    assert.equal(answersInto(buses[0] as Bus), 2);
    for (const link of links) await link.close();
  });

  it("resumes as soon as the far side answers again, not after its grown backoff", async () => {
    const [left, right] = MemoryLink.pair({ bus: new Bus(), retryDelay: { initial: 50, max: 600_000 } }, { bus: new Bus() });
    const got: number[] = [];
    right.bus.follow("back:*", (m) => void got.push(m.args[0] as number));
    left.reachable = false;
    left.bus.twitter("back:x", 1);
    await waitFor(() => left.stats.retries >= 6, "six retries (backoff grown past 1.6 s)", 10_000);
    left.reachable = true;
    right.bus.twitter("back:hello"); // the far side is back and sends something
    await waitFor(() => got.length === 1, "the buffered message, well before the backoff ends", 3_000);
    await left.close();
    await right.close();
  });

  it("refuses a neighbour list claiming to come from another bus, and keeps forwarding", async () => {
    const buses = Array.from({ length: 3 }, (_, i) => new Bus({ id: `spoof${i}` }));
    const links = connect(buses, [
      [0, 1],
      [1, 2],
    ]);
    await sleep(20);
    // Bus 2 (or whoever holds the 1–2 link) claims, in bus 0's name, that bus 0 links to bus 2 itself:
    // believed, it would stop bus 1 forwarding bus 0's messages to bus 2.
    const forged = {
      v: 1,
      id: "berrymq-link:neighbours",
      args: [[{ bus: "spoof2", exports: ["*:*"] }]],
      kwargs: {},
      messageId: "spoof0/forged",
      timestamp: 1,
      hops: ["spoof0"],
    };
    const intoOne = links[2] as MemoryLink; // bus 1's end of the 1–2 link
    intoOne.accept(forged);
    assert.equal(intoOne.stats.rejected, 1);
    const seen = countDeliveries(buses, "spoofed:*");
    (buses[0] as Bus).twitter("spoofed:x");
    await waitFor(() => seen[2]?.size === 1, "spoofed:x on bus 2");
    for (const link of links) await link.close();
  });

  it("a message addressed to this bus still needs the import filters (only berrymq-reply answers skip them)", async () => {
    const [left, right] = MemoryLink.pair(
      { bus: new Bus({ id: "sender" }) },
      { bus: new Bus({ id: "guarded" }), importFilters: ["public:*"] },
    );
    const got: string[] = [];
    right.bus.follow("*:*", (m) => void got.push(m.id));
    const frame = (id: string, extra: Record<string, unknown>) => ({
      v: 1,
      id,
      args: [],
      kwargs: {},
      messageId: `sender/${id}`,
      timestamp: 1,
      hops: ["sender"],
      ...extra,
    });
    right.accept(frame("admin:shutdown", { to: "guarded", inReplyTo: "x" }));
    right.accept(frame("admin:reboot", { to: "guarded" }));
    right.accept(frame("public:hello", { to: "guarded" }));
    assert.deepEqual(got, ["public:hello"]);
    await left.close();
    await right.close();
  });
});

// r28: a request of this bus that ended (timed out, aborted, answered in full) is not sent by a link that still
// holds it; a talk() is, and so is a request relayed from another bus (see redteam-r28-ended-requests and the
// request conformance suite for the same across processes).
describe("Link: requests that ended before they were sent", () => {
  it("a request answered in full over one link is not sent by another that was down", async () => {
    const asker = new Bus({ id: "r28-asker" });
    const [toUp, upSide] = MemoryLink.pair({ bus: asker }, { bus: new Bus({ id: "r28-up" }) });
    const [toDown, downSide] = MemoryLink.pair({ bus: asker, retryDelay: { initial: 20, max: 20 } }, { bus: new Bus({ id: "r28-down" }) });
    upSide.bus.follow("r28:ask", () => "up");
    let ran = 0;
    downSide.bus.follow("r28:ask", () => ++ran);
    asker.on("error", () => {});
    toDown.reachable = false;
    assert.equal(await asker.ask("r28:ask", within({ timeout: 5_000 })), "up");
    assert.equal(toDown.backlog, 1, "the request waits in the link that was down");
    toDown.reachable = true;
    await waitFor(() => toDown.backlog === 0, "the link's buffer to empty");
    await sleep(50);
    assert.equal(ran, 0, "not sent once answered");
    assert.equal(toDown.stats.ended, 1);
    assert.equal(toDown.stats.dropped, 0, "not counted as dropped");
    for (const link of [toUp, upSide, toDown, downSide]) await link.close();
  });

  it("a request relayed from another bus is sent, whatever became of it where it was asked", async () => {
    const [a, b1] = MemoryLink.pair({ bus: new Bus({ id: "r28-a" }) }, { bus: new Bus({ id: "r28-b" }) });
    const [b2, c] = MemoryLink.pair({ bus: b1.bus, retryDelay: { initial: 20, max: 20 } }, { bus: new Bus({ id: "r28-c" }) });
    let ran = 0;
    c.bus.follow("r28:relayed", () => ++ran);
    b1.bus.on("error", () => {});
    b2.reachable = false;
    const error = await a.bus.ask("r28:relayed", within({ timeout: 100 })).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof RequestTimeoutError, String(error));
    b2.reachable = true;
    await waitFor(() => ran === 1, "the relayed request on the far bus");
    assert.equal(b2.stats.ended, 0);
    for (const link of [a, b1, b2, c]) await link.close();
  });

  it("close() does not return nor report an ended request as undelivered", async () => {
    const [left, right] = MemoryLink.pair({ bus: new Bus(), closeTimeout: 100 }, { bus: new Bus() });
    const reported: unknown[] = [];
    left.on("error", (error) => void reported.push(error));
    left.reachable = false;
    const error = await left.bus.ask("r28:closed", within({ timeout: 50 })).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof RequestTimeoutError, String(error));
    left.bus.twitter("r28:plain");
    const { undelivered } = await left.close();
    assert.deepEqual(
      undelivered.map((m) => m.id),
      ["r28:plain"],
    );
    const lost = reported.filter((e) => e instanceof LinkUndeliveredError) as LinkUndeliveredError[];
    assert.equal(lost.length, 1);
    assert.deepEqual(
      lost[0]?.undelivered.map((m) => m.id),
      ["r28:plain"],
    );
    assert.equal(left.stats.ended, 1);
    await right.close();
  });
});

// r28 review: requests that ended make room in a full buffer before a live message is refused, in the batch
// that waits out a retry as in the buffer behind it; a request still waited for keeps its place.
describe("Link: a full buffer first lets go of the requests that ended", () => {
  // A link that is down and retries only when its far side speaks (a long backoff): what its buffer holds
  // then is what the overflow path made of it, not what a retry took out on its way.
  function downPair(t: TestContext, options: { bufferSize?: number; bufferBytes?: number }): [MemoryLink, MemoryLink] {
    const [left, right] = MemoryLink.pair(
      { bus: new Bus(), maxBatch: 2, retryDelay: { initial: 60_000, max: 60_000 }, closeTimeout: 100, ...options },
      { bus: new Bus() },
    );
    left.reachable = false;
    // Closed whatever the outcome: a failed assertion left the link retrying, and the run hanging.
    t.after(async () => {
      await left.close();
      await right.close();
    });
    return [left, right];
  }

  const timedOut = (asked: Promise<unknown>): Promise<unknown> =>
    asked.then(
      () => assert.fail("answered"),
      (error: unknown) => assert.ok(error instanceof RequestTimeoutError, String(error)),
    );

  it("asks that timed out in a down link's full buffer (count) leave room: no live message refused, all delivered", async (t) => {
    const [left, right] = downPair(t, { bufferSize: 6 });
    const overflows: unknown[] = [];
    left.on("error", (error) => void (error instanceof LinkOverflowError && overflows.push(error)));
    let asked = 0;
    right.bus.follow("full:ask", () => ++asked);
    const live: unknown[] = [];
    right.bus.follow("full:live", (message) => void live.push(message.args[0]));
    // Two in the batch that failed (maxBatch 2), four behind it.
    await Promise.all(Array.from({ length: 6 }, () => timedOut(left.bus.ask("full:ask", within({ timeout: 30 })))));
    assert.equal(left.backlog, 6, "the asks still in the buffer");
    for (let i = 0; i < 6; i++) left.bus.twitter("full:live", i);
    assert.equal(left.stats.dropped, 0, "no live message refused");
    assert.equal(overflows.length, 0);
    assert.equal(left.stats.ended, 6);
    assert.equal(left.backlog, 6, "the live messages only");
    left.reachable = true;
    right.bus.twitter("full:wake"); // a frame from the far side: the link retries at once
    await waitFor(() => live.length === 6, "the live messages on the far bus");
    assert.deepEqual(live, [0, 1, 2, 3, 4, 5]);
    assert.equal(asked, 0, "the asks that ended are not sent");
  });

  it("asks that timed out leave room under bufferBytes too", async (t) => {
    // Each message counts 47 (args ["x" × 40] 45, kwargs 2): two fit in 100.
    const [left, right] = downPair(t, { bufferBytes: 100 });
    const overflows: unknown[] = [];
    left.on("error", (error) => void (error instanceof LinkOverflowError && overflows.push(error)));
    const live: unknown[] = [];
    right.bus.follow("bytes:live", (message) => void live.push(message.args[0]));
    const pad = "x".repeat(40);
    await Promise.all([1, 2].map(() => timedOut(left.bus.ask("bytes:ask", pad, within({ timeout: 30 })))));
    left.bus.twitter("bytes:live", pad);
    left.bus.twitter("bytes:live", pad);
    assert.equal(left.stats.dropped, 0, "no live message refused");
    assert.equal(overflows.length, 0);
    assert.equal(left.stats.ended, 2);
    left.reachable = true;
    right.bus.twitter("bytes:wake");
    await waitFor(() => live.length === 2, "the live messages on the far bus");
    await waitFor(() => left.backlog === 0, "the buffer to empty");
    // The bytes the ended asks counted went with them: the buffer takes two again, not a third.
    left.reachable = false;
    for (let i = 0; i < 3; i++) left.bus.twitter("bytes:live", pad);
    assert.equal(left.stats.dropped, 1);
  });

  it("a request still waited for keeps its place: past the room the ended ones left, live messages are refused", async (t) => {
    const [left, right] = downPair(t, { bufferSize: 3 });
    left.on("error", () => {});
    right.bus.follow("keep:ask", () => "answered");
    const live: unknown[] = [];
    right.bus.follow("keep:live", (message) => void live.push(message.args[0]));
    const ended = timedOut(left.bus.ask("keep:ask", within({ timeout: 30 })));
    const waiting = [1, 2].map(() => left.bus.ask("keep:ask", within({ timeout: 10_000 })));
    for (const asked of waiting) asked.catch(() => {}); // rejected at close if the test fails first
    await ended;
    left.bus.twitter("keep:live", 1);
    left.bus.twitter("keep:live", 2);
    assert.equal(left.stats.ended, 1);
    assert.equal(left.stats.dropped, 1, "the second live message: the buffer holds two waiting asks and the first");
    left.reachable = true;
    right.bus.twitter("keep:wake");
    assert.deepEqual(await Promise.all(waiting), ["answered", "answered"]);
    await waitFor(() => live.length === 1, "the live message that fitted");
    assert.deepEqual(live, [1]);
  });
});
