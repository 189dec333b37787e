// The suite every transport's link passes (as mqemitter's adapters share abstractTest.js). A transport's
// spec calls `linkConformance("redis", connect)` where `connect` links two fresh buses through it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Bus } from "../../lib/bus.js";
import { kw } from "../../lib/kwargs.js";
import type { Message } from "../../lib/message.js";
import { sleep, waitFor } from "../helpers/wait-for.js";

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
  });
}
