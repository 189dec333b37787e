// The suite every transport's link passes (as mqemitter's adapters share abstractTest.js). A transport's
// spec calls `linkConformance("redis", connect)` where `connect` links two fresh buses through it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Link } from "../../bridges/link.js";
import type { Bus } from "../../lib/bus.js";
import { kw } from "../../lib/kwargs.js";
import type { Message } from "../../lib/message.js";
import { within } from "../../lib/request.js";
import { RemoteError, RequestAbortedError, RequestTimeoutError } from "../../lib/request-errors.js";
import type { TcpGate } from "../helpers/tcp-gate.js";
import { sleep, waitFor } from "../helpers/wait-for.js";
import { type RequestPeer, startRequestPeer } from "./request-process.js";

/** Two buses linked both ways through the transport under test. */
export interface LinkedPair {
  a: Bus;
  b: Bus;
  /** Closes the links and whatever the transport started; must leave no handle open. */
  close(): Promise<void>;
}

/** Registers the shared link tests for one transport. */
export function linkConformance(transport: string, connect: () => Promise<LinkedPair>): void {
  describe(`link conformance: ${transport}`, () => {
    let pair: LinkedPair;
    before(async () => {
      pair = await connect();
    });
    after(async () => {
      await pair.close();
    });

    it("delivers a message to the far bus with its args, kwargs and messageId", async () => {
      const got: Message[] = [];
      const stop = pair.b.follow("conf:hello", (m) => void got.push(m));
      pair.a.twitter("conf:hello", "world", 42, { nested: [1, 2] }, kw({ level: 3 }));
      await waitFor(() => got.length === 1, "conf:hello on b");
      const [m] = got as [Message];
      assert.deepEqual(m.args, ["world", 42, { nested: [1, 2] }]);
      assert.deepEqual(m.kwargs, { level: 3 });
      assert.equal(m.id, "conf:hello");
      assert.equal(m.hops[0], pair.a.id, "origin first in hops");
      assert.equal(m.hops.at(-1), pair.b.id, "far bus recorded in hops");
      stop();
    });

    it("works in both directions", async () => {
      const got: string[] = [];
      const stop = pair.a.follow("conf:back", (m) => void got.push(String(m.args[0])));
      pair.b.twitter("conf:back", "from b");
      await waitFor(() => got.length === 1, "conf:back on a");
      assert.deepEqual(got, ["from b"]);
      stop();
    });

    it("never echoes a message back to its origin, and delivers it once", async () => {
      const onA: string[] = [];
      const onB: string[] = [];
      const stopA = pair.a.follow("conf:echo", (m) => void onA.push(m.messageId));
      const stopB = pair.b.follow("conf:echo", (m) => void onB.push(m.messageId));
      pair.a.twitter("conf:echo");
      await waitFor(() => onB.length === 1, "conf:echo on b");
      await sleep(300);
      assert.equal(onA.length, 1, "a got its own message once, not back over the link");
      assert.equal(onB.length, 1, "b got it exactly once");
      stopA();
      stopB();
    });

    it("keeps the order of messages", async () => {
      const got: number[] = [];
      const stop = pair.b.follow("conf:seq", (m) => void got.push(m.args[0] as number));
      for (let i = 0; i < 500; i++) pair.a.twitter("conf:seq", i);
      await waitFor(() => got.length === 500, "500 conf:seq on b", 10_000);
      assert.deepEqual(got, Array.from({ length: 500 }, (_, i) => i));
      stop();
    });

    it("routes wildcards sent and followed across the link", async () => {
      const got: string[] = [];
      const stop = pair.b.follow("*:conf-stop", (m) => void got.push(m.id));
      pair.a.twitter("worker:conf-stop");
      pair.a.twitter("*:conf-stop");
      await waitFor(() => got.length === 2, "two conf-stop on b");
      assert.deepEqual(got, ["worker:conf-stop", "*:conf-stop"]);
      stop();
    });

    it("carries talk(): the far followers' results come back as messages", async () => {
      const stopAdd = pair.b.follow("conf-calc:add", (m) => (m.args as number[]).reduce((x, y) => x + y, 0));
      const results: Message[] = [];
      const stopResult = pair.a.follow("conf-calc:result", (m) => void results.push(m));
      const local = await pair.a.talk("conf-calc:add", "conf-calc:result", 1, 2, 3);
      assert.deepEqual(local, [], "no local follower of conf-calc:add");
      await waitFor(() => results.length === 1, "conf-calc:result back on a");
      assert.deepEqual(results[0]?.args, [6]);
      assert.equal(typeof results[0]?.inReplyTo, "string");
      stopAdd();
      stopResult();
    });

    it("request/response: ask() gets the far follower's answer; a far failure is a typed RemoteError", async () => {
      const stops = [
        pair.b.follow("conf-rq:add", (m) => (m.args as number[]).reduce((x, y) => x + y, 0)),
        pair.b.follow("conf-rq:fail", () => {
          throw new RangeError("far failure");
        }),
      ];
      pair.b.on("error", ignore);
      assert.equal(await pair.a.ask<number>("conf-rq:add", 1, 2, 3, within({ timeout: 5_000 })), 6);
      const error = await pair.a.ask("conf-rq:fail", within({ timeout: 5_000 })).then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof RemoteError, String(error));
      assert.equal(error.remoteName, "RangeError");
      assert.equal(error.bus, pair.b.id);
      assert.match(error.message, /far failure/);
      pair.b.off("error", ignore);
      for (const stop of stops) stop();
    });

    it("request/response: a timeout rejects with the answers that came", async () => {
      const stops = [
        pair.b.follow("conf-rq:some", () => "quick"),
        pair.b.follow("conf-rq:some", () => sleep(2_000).then(() => "late")),
      ];
      const error = await pair.a.request("conf-rq:some", within({ count: 2, timeout: 500 })).then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof RequestTimeoutError, String(error));
      assert.deepEqual(error.answers.map((a) => a.ok && a.value), ["quick"]);
      assert.equal(error.answers[0]?.bus, pair.b.id);
      for (const stop of stops) stop();
    });

    it("request/response: 1,000 concurrent requests are each answered once, to the right caller", async () => {
      await concurrentRequests(pair.a, pair.b, "conf-rq", 1_000);
    });
  });
}

const ignore = (): void => {};

// `asker` talks to `conf-rq:add` 1,000 times at once; each promise must get its own sum, and each answer
// must arrive once (counted through the callback identifier's follower).
async function concurrentRequests(asker: Bus, answerer: Bus | undefined, name: string, n: number): Promise<void> {
  const stop = answerer?.follow(`${name}:add`, (m) => (m.args as number[]).reduce((x, y) => x + y, 0));
  const callbacks = new Map<unknown, number>();
  const stopCallbacks = asker.follow(`${name}:sum`, (m) => void callbacks.set(m.args[0], (callbacks.get(m.args[0]) ?? 0) + 1));
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) => asker.talk(`${name}:add`, `${name}:sum`, i, 100_000, within({ count: 1, timeout: 30_000 }))),
  );
  assert.deepEqual(
    results,
    Array.from({ length: n }, (_, i) => [i + 100_000]),
  );
  await sleep(300);
  assert.equal(callbacks.size, n, "one callback per request");
  assert.ok([...callbacks.values()].every((count) => count === 1), "no answer arrived twice");
  assert.equal(asker.pendingRequests, 0);
  stop?.();
  stopCallbacks();
}

/** A bus linked through the transport under test, and how a child process links to it. */
export interface RequestSetup {
  bus: Bus;
  /** The config of spec/bridges/fixtures/request-peer.ts (without busId) that links a child to `bus`. */
  peer: Record<string, unknown>;
  /**
   * TCP gates the bus's link connects through (the child links directly): shut, that link alone is cut
   * off from the far side. Given when `requestConformance` was told `gated` (a PeerLink's outage is its
   * own spec: redteam-r28-ended-requests).
   */
  gates?: readonly TcpGate[];
  /** The link through the gates. */
  link?: Link;
  close(): Promise<void>;
}

/** Asks `identifier` until an answer comes (links need a moment after a process starts). */
async function untilAnswered<R>(bus: Bus, identifier: string): Promise<R> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await bus.ask<R>(identifier, within({ timeout: 300 }));
    } catch (error) {
      if (!(error instanceof RequestTimeoutError) || Date.now() > deadline) throw error;
    }
  }
}

/** Request/response with the answering bus in a real child process (killed, restarted) over one transport. */
export function requestConformance(transport: string, setup: () => Promise<RequestSetup>, gated = false): void {
  describe(`request conformance across processes: ${transport}`, () => {
    let linked: RequestSetup;
    let child: RequestPeer;
    const busId = `rq-child-${transport}`;
    const start = async (): Promise<RequestPeer> => {
      const peer = await startRequestPeer({ ...linked.peer, busId });
      await untilAnswered(linked.bus, "rq:whoami");
      return peer;
    };
    before(async () => {
      linked = await setup();
      linked.bus.on("error", ignore); // a killed child makes links report; the tests check what matters
      child = await start();
    });
    after(async () => {
      await child.stop();
      await linked.close();
    });

    it("answers from the child process; its failure comes back as a RemoteError naming it", async () => {
      assert.equal(await linked.bus.ask<number>("rq:add", 20, 22, within({ timeout: 5_000 })), 42);
      const [answer] = await linked.bus.request("rq:fail", within({ timeout: 5_000 }));
      assert.ok(answer !== undefined && !answer.ok);
      assert.equal(answer.error.remoteName, "TypeError");
      assert.equal(answer.error.bus, busId);
      assert.match(answer.error.message, /child rq-child-.* failed/);
    });

    it("a timeout with some answers in rejects with those answers", async () => {
      const error = await linked.bus.request("rq:some", within({ count: 2, timeout: 800 })).then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof RequestTimeoutError, String(error));
      assert.deepEqual(error.answers.map((a) => a.ok && a.value), ["quick"]);
    });

    it("1,000 concurrent requests to the child are each answered once, to the right caller", async () => {
      await concurrentRequests(linked.bus, undefined, "rq", 1_000);
    });

    it("an answer from a process that then dies is kept; later requests time out, typed, with none", async () => {
      const who = await linked.bus.ask<{ pid: number }>("rq:whoami", within({ timeout: 5_000 }));
      assert.equal(who.pid, child.pid);
      await child.kill();
      const error = await linked.bus.request("rq:whoami", within({ timeout: 500 })).then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof RequestTimeoutError, String(error));
      assert.deepEqual(error.answers, []);
      assert.equal(linked.bus.pendingRequests, 0);
      child = await start();
    });

    // Only where the setup puts gates in front of its link: declared or not, never skipped.
    (gated ? it : () => undefined)("an outage of the asking link: the requests that ended in it are not sent after it, a talk() is", async () => {
      const { gates, link } = linked;
      assert.ok(gates !== undefined && link !== undefined, `the ${transport} setup has no gate in front of its link`);
      const bus = linked.bus;
      const runs = (): Promise<{ counted: number; talked: number }> => bus.ask<{ counted: number; talked: number }>("rq:runs", within({ timeout: 5_000 }));
      const before = await runs();
      const callbacks: unknown[] = [];
      const stop = bus.follow("rq:talked", (m) => void callbacks.push(m.args[0]));
      const ended = link.stats.ended;
      for (const gate of gates) gate.shut();
      // Asked once the link knows its far side is down: what a transport took before (into a ZeroMQ socket's
      // queue, a RedisLink's replyless socket, which writes it again on its next connection) is on its way,
      // no longer in the link's buffer.
      const deadline = Date.now() + 15_000;
      while (!link.isDown) {
        assert.ok(Date.now() < deadline, "the link noticed the outage");
        bus.twitter("rq:probe");
        await sleep(100);
      }
      const outcome = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => "answered", (e: unknown) => e);
      const asks = Array.from({ length: 50 }, (_, i) => outcome(bus.ask("rq:counted", i, within({ timeout: 300 }))));
      const controller = new AbortController();
      const aborted = outcome(bus.ask("rq:counted", "aborted", within({ timeout: 30_000, signal: controller.signal })));
      // Its answers go on to rq:talked's followers whatever its promise: it is sent after the outage.
      const talked = bus.talk("rq:talk", "rq:talked", "during", within({ timeout: 300 }));
      setTimeout(() => controller.abort(), 50);
      for (const error of await Promise.all(asks)) assert.ok(error instanceof RequestTimeoutError, String(error));
      assert.ok((await aborted) instanceof RequestAbortedError);
      assert.deepEqual(await talked, [], "no answer while the link is cut off");
      for (const gate of gates) gate.open = true;
      await untilAnswered(linked.bus, "rq:whoami");
      const started = performance.now();
      const after = await runs();
      assert.ok(performance.now() - started < 2_000, "a fresh ask is answered at once");
      assert.equal(after.counted - before.counted, 0, "no request that ended reached the far follower");
      assert.ok(link.stats.ended - ended >= 51, `${link.stats.ended - ended} ended requests counted, not sent`);
      await waitFor(() => callbacks.length === 1, "the talk()'s answer on rq:talked", 10_000);
      assert.deepEqual(callbacks, ["talked during"]);
      assert.equal(after.talked - before.talked, 1, "the talk() ran once");
      assert.equal(bus.pendingRequests, 0);
      stop();
    });

    it("a far side restarted mid-request: that request times out, the next is answered by the new process", async () => {
      const pending = linked.bus.request("rq:slow", within({ timeout: 1_500 })).then(() => undefined, (e: unknown) => e);
      await sleep(150); // the child is working on it
      await child.kill();
      child = await startRequestPeer({ ...linked.peer, busId });
      const error = await pending;
      assert.ok(error instanceof RequestTimeoutError, String(error));
      const who = await untilAnswered<{ pid: number }>(linked.bus, "rq:whoami");
      assert.equal(who.pid, child.pid, "answered by the restarted process");
    });
  });
}
