// Red team r27: a PeerLink whose batch held more envelopes than the far server's `maxBatch` (a server
// configured lower than the link's maxBatch, default 1,000 both) was refused as a whole (LimitExceeded) on
// its stream and then by POST, at every retry, for ever: nothing it sent afterwards was delivered while the
// far side was up, and all it said was one LinkDownError. Now the link learns the far server's bound from
// the refusal and sends that batch, and those after it, in parts that fit.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type BridgeServer, PeerLink, serve } from "../../../bridges/jsonrpc/index.js";
import type { PeerHost } from "../../../bridges/jsonrpc/peer-link.js";
import { Bus } from "../../../lib/bus.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

function collect(bus: Bus): number[] {
  const got: number[] = [];
  bus.follow("mb:*", (m) => void got.push(m.args[0] as number));
  return got;
}

async function pair(
  farMaxBatch: number,
  streams = true,
): Promise<{ a: Bus; b: Bus; link: PeerLink; close(): Promise<void> }> {
  const a = new Bus();
  const b = new Bus();
  const sa = await serve({ bus: a, maxBatch: farMaxBatch });
  const sb = await serve({ bus: b, maxBatch: farMaxBatch });
  // A host without `answer` keeps the link to POSTs.
  const host: PeerHost = streams
    ? sa
    : { url: sa.url, attachPeer: (token, link) => sa.attachPeer(token, link), detachPeer: (token) => sa.detachPeer(token) };
  const link = await PeerLink.connect(sb.url, { bus: a, server: host, retryDelay: { initial: 20, max: 200 } });
  link.on("error", () => {});
  for (const bus of [a, b]) bus.on("error", () => {});
  return {
    a,
    b,
    link,
    close: async () => {
      await link.close();
      await Promise.all([sa, sb].map((server: BridgeServer) => server.close()));
    },
  };
}

const N = 57;
const all = Array.from({ length: N }, (_, i) => i);

describe("a batch larger than the far server's maxBatch (HTTP, 127.0.0.1)", () => {
  it("on the stream: delivered in parts, in order, once", async () => {
    const { a, b, link, close } = await pair(10);
    const got = collect(b);
    try {
      await waitFor(() => link.streaming, "the stream");
      for (const i of all) a.twitter("mb:x", i);
      await waitFor(() => got.length >= N, `${N} delivered (got ${got.length}, backlog ${link.backlog})`, 5_000);
      await sleep(50);
      assert.deepEqual(got, all);
      assert.equal(link.stats.sent, N);
      assert.equal(link.backlog, 0);
      // And the batches after it too.
      for (const i of all) a.twitter("mb:y", N + i);
      await waitFor(() => got.length >= 2 * N, "the next batch delivered", 5_000);
      assert.deepEqual(got.slice(N), all.map((i) => N + i));
    } finally {
      await close();
    }
  });

  it("by POST: delivered in parts, in order, once", async () => {
    const { a, b, link, close } = await pair(10, false);
    const got = collect(b);
    try {
      assert.equal(link.streaming, false);
      for (const i of all) a.twitter("mb:x", i);
      await waitFor(() => got.length >= N, `${N} delivered (got ${got.length}, backlog ${link.backlog})`, 5_000);
      await sleep(50);
      assert.deepEqual(got, all);
      assert.equal(link.stats.sent, N);
    } finally {
      await close();
    }
  });

  it("the far server's link back (to a server of a lower maxBatch) sends in parts too", async () => {
    const { a, b, link, close } = await pair(10);
    const got = collect(a);
    try {
      await waitFor(() => link.streaming, "the stream");
      for (const i of all) b.twitter("mb:z", i);
      await waitFor(() => got.length >= N, `${N} delivered back (got ${got.length})`, 5_000);
      await sleep(50);
      assert.deepEqual(got, all);
    } finally {
      await close();
    }
  });
});
