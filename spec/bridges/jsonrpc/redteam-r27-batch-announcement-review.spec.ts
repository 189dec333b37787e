// Red team r27 (review of r27-link): a link's batch takes up to `maxBatch` messages (default 1,000), and a
// neighbour list, when one is due, goes with it as one more envelope; a far server refuses more than its own
// `maxBatch` envelopes (default 1,000). So with every option at its default, a full batch that carried a
// neighbour list (sent at every import filter change since r27: each follow and unfollow of a "followers"
// link) was refused as a whole: the healthy link reported its far side unreachable (LinkDownError, a `down`
// event), retried after a backoff, and fell back from its stream to POSTs until its next ping. The list now
// counts against the link's maxBatch.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Envelope } from "../../../bridges/envelope.js";
import { type BridgeServer, PeerLink, serve } from "../../../bridges/jsonrpc/index.js";
import type { PeerHost } from "../../../bridges/jsonrpc/peer-link.js";
import { Bus } from "../../../lib/bus.js";
import { MemoryLink } from "../../helpers/memory-link.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

async function pair(streams: boolean): Promise<{ a: Bus; b: Bus; link: PeerLink; close(): Promise<void> }> {
  const a = new Bus();
  const b = new Bus();
  const sa = await serve({ bus: a });
  const sb = await serve({ bus: b });
  // A host without `answer` keeps the link to POSTs.
  const host: PeerHost = streams
    ? sa
    : { url: sa.url, attachPeer: (token, link) => sa.attachPeer(token, link), detachPeer: (token) => sa.detachPeer(token) };
  const link = await PeerLink.connect(sb.url, { bus: a, server: host });
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

const N = 3_000;

for (const streams of [true, false]) {
  describe(`a full batch and a neighbour list, every maxBatch at its default (${streams ? "stream" : "POST"}, 127.0.0.1)`, () => {
    it("go without a refusal: no down event, no retry, all delivered in order", async () => {
      const { a, b, link, close } = await pair(streams);
      const events: string[] = [];
      link.on("error", (error) => void events.push(`${error.name}: ${error.message.slice(0, 100)}`));
      link.on("down", () => void events.push("down"));
      const got: number[] = [];
      b.follow("fb:*", (m) => void got.push(m.args[0] as number));
      try {
        if (streams) await waitFor(() => link.streaming, "the stream");
        await sleep(50);
        // An import filter change: the neighbour list goes with the next batch, a full one.
        void link.subscribe("other:*");
        for (let i = 0; i < N; i++) a.twitter("fb:x", i);
        await waitFor(() => got.length === N, `${N} delivered (got ${got.length})`, 10_000);
        assert.deepEqual(events, []);
        assert.equal(link.stats.retries, 0);
        assert.ok(
          got.every((value, i) => value === i),
          "in order",
        );
        if (streams) assert.equal(link.streaming, true, "still on the stream");
      } finally {
        await close();
      }
    });
  });
}

// Envelopes handed to each transmit call, neighbour lists included.
class CountingLink extends MemoryLink {
  readonly envelopes: number[] = [];
  protected override transmit(batch: Envelope[]): Promise<void> {
    this.envelopes.push(batch.length);
    return super.transmit(batch);
  }
}

describe("a neighbour list due while a full batch waits for its retry (in-process links)", () => {
  it("goes after it, not with it: no batch of more than maxBatch envelopes", async () => {
    const [left, right] = CountingLink.pair(
      { bus: new Bus(), maxBatch: 4, retryDelay: { initial: 20, max: 20 } },
      { bus: new Bus() },
    );
    left.on("error", () => {});
    const got: number[] = [];
    right.bus.follow("rb:*", (m) => void got.push(m.args[0] as number));
    await sleep(10); // the first neighbour list has gone
    left.reachable = false;
    for (let i = 0; i < 4; i++) left.bus.twitter("rb:x", i);
    await waitFor(() => left.stats.retries > 0, "a failed batch");
    // An import filter change while the full batch waits: a neighbour list is due.
    void left.subscribe("other:*");
    await sleep(5);
    left.reachable = true;
    await waitFor(() => got.length === 4, "the batch delivered");
    await sleep(30);
    assert.deepEqual(got, [0, 1, 2, 3]);
    assert.ok(Math.max(...left.envelopes) <= 4, `batches of ${JSON.stringify(left.envelopes)} envelopes`);
    assert.equal(left.envelopes.at(-1), 1, "the list went after the batch");
    await left.close();
    await right.close();
  });
});
