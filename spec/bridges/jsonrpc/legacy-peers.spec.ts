// berryMQ 0.3 nodes as members of a mesh: a stand-in 0.3 node (fixtures/legacy-node.ts, a child process
// that behaves as 0.3 does on the wire) in a ring with berrymq processes, refusing messages, only
// listening, and serving berrymq's own clients.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { PeerLink, RemoteQueueClient, SendOnlyClient, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { kw } from "../../../lib/kwargs.js";
import type { Message } from "../../../lib/message.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { type PeerProcess, startLegacyNode, startPeer } from "./peer-process.js";

async function stopAll(processes: (PeerProcess | undefined)[]): Promise<void> {
  await Promise.all(processes.map((p) => p?.stop()));
}

describe("berryMQ 0.3 peers in a mesh", () => {
  it("the server's link back to a 0.3 peer takes serve()'s peerLink timeout: a peer that never answers is given up on in that time, not 30 s", async () => {
    // A "0.3 peer" that takes every request and never answers; it notes when the server gives up (closes).
    const closedAt: number[] = [];
    const hanging = createServer((socket) => {
      socket.on("data", () => {});
      socket.on("close", () => void closedAt.push(performance.now()));
    });
    hanging.listen(0, "127.0.0.1");
    await once(hanging, "listening");
    const bus = new Bus({ id: "legacy-timeout" });
    // closeTimeout 0: server.close() at the end does not spend 2 s (the default) trying to hand the silent
    // peer the message it never took; what is measured (the give-up) comes before, by the 300 ms timeout.
    const server = await serve({
      bus,
      port: 0,
      peerLink: { timeout: 300, maxAnswerSize: 4_096, retryDelay: { initial: 10_000, max: 10_000 }, closeTimeout: 0 },
    });
    try {
      const port = (hanging.address() as { port: number }).port;
      const answer = await fetch(server.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ id: 1, method: "interconnect", params: [["127.0.0.1", port], null, 60] }) });
      assert.equal(((await answer.json()) as { error: unknown }).error, null);
      const sentAt = performance.now();
      bus.twitter("x:y", 1);
      await waitFor(() => closedAt.length > 0, "the server's link to give up on the silent peer", 5_000);
      const after = (closedAt[0] as number) - sentAt;
      assert.ok(after >= 250 && after < 3_000, `gave up after ${after.toFixed(0)} ms`);
    } finally {
      await server.close();
      hanging.close();
    }
  });

  it("a ring berrymq A — 0.3 B — berrymq C — A delivers each message once per berrymq process, from any node", async () => {
    let a: PeerProcess | undefined;
    let b: PeerProcess | undefined;
    let c: PeerProcess | undefined;
    try {
      a = await startPeer({ busId: "ring-a" });
      c = await startPeer({ busId: "ring-c", peers: [a.url] });
      // B interconnects with both, as a 0.3 process calling interconnect() twice.
      b = await startLegacyNode({ peers: [a.url, c.url] });
      const [pa, pb, pc] = [a, b, c];
      const origins: [string, PeerProcess][] = [
        ["from-a", pa],
        ["from-b", pb],
        ["from-c", pc],
      ];
      for (const [name, origin] of origins) origin.command({ cmd: "twitter", id: `ring:${name}`, args: [name], kwargs: { k: 1 } });
      for (const [name] of origins) {
        await waitFor(() => pa.messages(`ring:${name}`).length >= 1 && pc.messages(`ring:${name}`).length >= 1, `${name} at A and C`);
      }
      // Give echoes time to come round (they did, endlessly, before).
      await sleep(1_500);
      for (const [name] of origins) {
        assert.equal(pa.messages(`ring:${name}`).length, 1, `${name} delivered once at A: ${JSON.stringify(pa.messages(`ring:${name}`))}`);
        assert.equal(pc.messages(`ring:${name}`).length, 1, `${name} delivered once at C`);
        const atB = pb.messages(`ring:${name}`).length;
        assert.ok(atB >= 1 && atB <= 2, `${name} reached the 0.3 node (${atB}: at most once per berrymq neighbour)`);
      }
      assert.deepEqual(pa.messages("ring:from-b")[0]?.kwargs, { k: 1 });
    } finally {
      await stopAll([a, b, c]);
    }
  });

  it("a message the 0.3 peer refuses (its follower raised) is reported and skipped; later ones still go, once", async () => {
    let a: PeerProcess | undefined;
    let b: PeerProcess | undefined;
    try {
      a = await startPeer({ busId: "refused-a" });
      b = await startLegacyNode({ peers: [a.url], raise: "bad:*" });
      const [pa, pb] = [a, b];
      pa.command({ cmd: "twitter", id: "bad:one" });
      pa.command({ cmd: "twitter", id: "good:two" });
      pa.command({ cmd: "twitter", id: "good:three" });
      await waitFor(() => pb.messages("good:three").length === 1, "the messages after the refused one");
      await waitFor(() => pa.events.some((e) => e.event === "error" && e.code === "PEER_REFUSED"), "the refusal reported");
      await sleep(500);
      assert.equal(pb.messages("bad:one").length, 1, "the refused message was not retried");
      assert.equal(pb.messages("good:two").length, 1);
      assert.ok(!pa.events.some((e) => e.event === "error" && e.code === "LINK_DOWN"), "the peer was not reported unreachable");
    } finally {
      await stopAll([a, b]);
    }
  });

  it("a 0.3 peer that only listens keeps receiving past its ttl; the link is reported when it does end", async () => {
    let a: PeerProcess | undefined;
    let b: PeerProcess | undefined;
    try {
      a = await startPeer({ busId: "listened-a" });
      b = await startLegacyNode({ peers: [a.url], ttl: 1 });
      for (let i = 0; i < 12; i++) {
        a.command({ cmd: "twitter", id: "tick:n", args: [i] });
        await sleep(250);
      }
      const pb = b;
      await waitFor(() => pb.messages("tick:n").length === 12, "every tick, 3 s after a 1 s ttl");
      const pa = a;
      assert.ok(!pa.events.some((e) => e.event === "error" && e.code === "PEER_EXPIRED"), "the link was not expired");
      // With no traffic either way past the ttl the link back ends, and that is reported, not silent.
      await waitFor(() => pa.events.some((e) => e.event === "error" && e.code === "PEER_EXPIRED"), "the expiry reported", 5_000);
    } finally {
      await stopAll([a, b]);
    }
  });

  it("carries 2^53 exactly and refuses NaN and integers beyond 2^53 from a 0.3 peer, clearly, delivering nothing changed", async () => {
    let a: PeerProcess | undefined;
    let b: PeerProcess | undefined;
    try {
      a = await startPeer({ busId: "numbers-a" });
      b = await startLegacyNode({ peers: [a.url] });
      const pa = a;
      b.command({ cmd: "raw", body: '{"id": 1, "method": "send_message", "params": [TOKEN, "num:nan", [NaN], {}]}' });
      b.command({ cmd: "raw", body: '{"id": 2, "method": "send_message", "params": [TOKEN, "num:big", [9007199254740993], {}]}' });
      b.command({ cmd: "raw", body: '{"id": 3, "method": "send_message", "params": [TOKEN, "num:exact", [9007199254740992, 1e308], {}]}' });
      await waitFor(() => pa.messages("num:exact").length === 1, "the exact numbers");
      assert.deepEqual(pa.messages("num:exact")[0]?.args, [9_007_199_254_740_992, 1e308]);
      assert.equal(pa.messages("num:nan").length, 0);
      assert.equal(pa.messages("num:big").length, 0);
    } finally {
      await stopAll([a, b]);
    }
  });

  it("berrymq's SendOnlyClient, RemoteQueueClient and PeerLink work against a 0.3 server (falling back to its methods)", async () => {
    let b: PeerProcess | undefined;
    const bus = new Bus({ id: "joins-0.3" });
    const server = await serve({ bus });
    const clients: { close(): Promise<unknown> }[] = [];
    try {
      b = await startLegacyNode({});
      const pb = b;
      const sender = new SendOnlyClient(b.url, { bus, exportFilters: ["log:*"] });
      clients.push(sender);
      bus.twitter("log:line", "hello", kw({ level: 3 }));
      await waitFor(() => pb.messages("log:line").length === 1, "the send-only client's message at the 0.3 node");
      assert.deepEqual(pb.messages("log:line")[0]?.kwargs, { level: 3 });

      await assert.rejects(RemoteQueueClient.connect(b.url), /speaks berryMQ 0.3, which cannot list its queues/);
      const queue = await RemoteQueueClient.connect(b.url, { filter: "task:*" });
      clients.push(queue);
      b.command({ cmd: "twitter", id: "task:run", args: [7] });
      const task = await queue.get({ timeout: 5_000 });
      assert.equal(task.id, "task:run");
      assert.deepEqual(task.args, [7]);

      const link = await PeerLink.connect(b.url, { bus, server });
      clients.push(link);
      const received: Message[] = [];
      bus.follow("from:legacy", (m) => void received.push(m));
      b.command({ cmd: "twitter", id: "from:legacy", args: ["hi"] });
      await waitFor(() => received.length === 1, "the 0.3 node's message through the PeerLink");
      bus.twitter("to:legacy", "there");
      await waitFor(() => pb.messages("to:legacy").length >= 1, "the PeerLink's message at the 0.3 node");
      await sleep(300);
      assert.equal(received.length, 1);
    } finally {
      for (const client of clients) await client.close();
      await server.close();
      await stopAll([b]);
    }
  });
});
