// Review r26: a batch too large for the far server's body limit (HTTP 413) goes in halves; close() reported
// the whole batch undelivered even when the far bus had taken some of its halves, so a caller re-sending
// what close() reports sent those twice. A half the far side acknowledged now leaves the batch in flight:
// close() reports exactly what did not arrive. Here the far side stops reading (a proxy holds every byte
// sent to it) once it has taken 300 messages; the link then closes with a short closeTimeout. The same
// held for a berryMQ 0.3 peer, sent a batch one `send_message` call at a time: what it had taken was
// reported undelivered, and sent again when a later call of the batch failed (0.3 has no de-duplication).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SendOnlyClient, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import type { Message } from "../../../lib/message.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { connectNearLink, NEAR_LINK_KINDS } from "./near-link.js";
import { startLegacyNode } from "./peer-process.js";
import { tappedForwarder } from "./tapped-forwarder.js";

const COUNT = 1_000;

// A TCP forwarder to 127.0.0.1:`target` that, once frozen, forwards nothing more towards it (what is sent
// then is held, counted in `held`); answers still come back.
async function freezer(target: number): Promise<{ url: string; freeze(): void; held(): number; close(): Promise<void> }> {
  let frozen = false;
  let held = 0;
  const forwarder = await tappedForwarder(target, () => ({
    toTarget: (chunk, upstream) => {
      if (frozen) held += chunk.length;
      else upstream.write(chunk);
    },
  }));
  return {
    ...forwarder,
    freeze: () => {
      frozen = true;
    },
    held: () => held,
  };
}

describe("review r26: close() of a link that sent part of a batch reports only what the far side did not take", () => {
  for (const kind of NEAR_LINK_KINDS) {
    it(`${kind}: a batch split after HTTP 413`, async () => {
      const far = new Bus({ id: `r26-split-far-${kind.length}` });
      const near = new Bus({ id: `r26-split-near-${kind.length}` });
      near.on("error", () => undefined);
      const farServer = await serve({ bus: far, maxBodySize: 20_000 });
      const nearServer = await serve({ bus: near });
      const front = await freezer(farServer.port);
      const received: number[] = [];
      far.follow("app:n", (message: Message) => {
        received.push(message.args[0] as number);
        // The rest of this part is taken (one request); nothing sent after it reaches the far server.
        if (received.length === 300) front.freeze();
      });
      const options = { bus: near, closeTimeout: 300, exportFilters: ["app:*"], retryDelay: { initial: 20, max: 100 } };
      const link = await connectNearLink(kind, front.url, options, nearServer);
      try {
        const pad = "x".repeat(100);
        // One batch of 1,000 (~250 kB as berrymq.send calls): split down to parts of ~63 messages.
        for (let i = 0; i < COUNT; i++) near.twitter("app:n", i, pad);
        await waitFor(() => front.held() > 0, "a part held on its way to the frozen far side");
        const { undelivered } = await link.close();
        await sleep(100);
        const reported = undelivered.map((message) => message.args[0] as number);
        const got = new Set(received);
        assert.ok(received.length >= 300 && received.length < COUNT, `received ${received.length}`);
        assert.deepEqual(
          reported.filter((i) => got.has(i)),
          [],
          `received ${received.length}, reported undelivered ${reported.length}: the far bus took these`,
        );
        assert.deepEqual(
          [...received, ...reported].sort((x, y) => x - y),
          Array.from({ length: COUNT }, (_, i) => i),
          "each message either received or reported undelivered",
        );
        assert.equal(link.stats.sent, received.length, "the parts acknowledged count as sent");
      } finally {
        await link.close();
        await front.close();
        await Promise.all([nearServer.close(), farServer.close()]);
      }
    });
  }

  it("SendOnlyClient to a berryMQ 0.3 peer (one send_message call a message)", async () => {
    const legacy = await startLegacyNode({});
    const near = new Bus({ id: "r26-split-near-legacy" });
    near.on("error", () => undefined);
    const front = await freezer(Number(new URL(legacy.url).port));
    const link = new SendOnlyClient(front.url, { bus: near, closeTimeout: 300, exportFilters: ["app:*"] });
    link.on("error", () => undefined);
    const count = 200;
    try {
      await link.connected();
      for (let i = 0; i < count; i++) near.twitter("app:n", i);
      await waitFor(() => legacy.messages("app:n").length >= 20, "20 messages at the 0.3 peer");
      front.freeze();
      await waitFor(() => front.held() > 0, "a call held on its way to the frozen peer");
      const { undelivered } = await link.close();
      await sleep(200);
      const received = legacy.messages("app:n").map((event) => event.args?.[0] as number);
      const reported = undelivered.map((message) => message.args[0] as number);
      const got = new Set(received);
      assert.ok(received.length >= 20 && received.length < count, `received ${received.length}`);
      assert.deepEqual(
        reported.filter((i) => got.has(i)),
        [],
        `received ${received.length}, reported undelivered ${reported.length}: the peer took these`,
      );
      assert.deepEqual(
        [...received, ...reported].sort((x, y) => x - y),
        Array.from({ length: count }, (_, i) => i),
        "each message either received or reported undelivered",
      );
    } finally {
      await link.close();
      await front.close();
      await legacy.stop();
    }
  });
});
