// Review r26 (requests): a message larger than the far server's body limit (HTTP 413) held up everything
// queued behind it. A batch refused 413 went in halves, each posted whole, again and again, so a too-large
// message was posted about log2(batch) times before it stood alone and was refused for good, and the
// answers behind it missed their timeout. A 413 now teaches the link a bound (the refused body's size, or
// the limit the far server states): a message whose body alone reaches it is refused at once, never
// posted, and the rest go in order in bodies below it. Real servers on 127.0.0.1 behind a TCP forwarder
// that counts what is sent through it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PeerLink, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import type { Message } from "../../../lib/message.js";
import { within } from "../../../lib/request.js";
import { waitFor } from "../../helpers/wait-for.js";
import { connectNearLink, NEAR_LINK_KINDS } from "./near-link.js";
import { tappedForwarder } from "./tapped-forwarder.js";

const LIMIT = 20_000;
const BIG = 30_000;

// A TCP forwarder to 127.0.0.1:`target` that keeps the text sent through it towards the target, so the
// times a marker was sent (posted or framed) can be counted, and counts the HTTP 413 answers coming back.
async function counter(
  target: number,
): Promise<{ url: string; sent(marker: string): number; refused(): number; close(): Promise<void> }> {
  const outgoing: string[] = [];
  let refused = 0;
  const forwarder = await tappedForwarder(target, () => {
    const index = outgoing.push("") - 1;
    return {
      toTarget: (chunk, upstream) => {
        outgoing[index] += chunk.toString("latin1");
        upstream.write(chunk);
      },
      fromTarget: (chunk) => {
        refused += chunk.toString("latin1").split("HTTP/1.1 413").length - 1;
      },
    };
  });
  return {
    ...forwarder,
    sent: (marker) => outgoing.reduce((sum, text) => sum + text.split(marker).length - 1, 0),
    refused: () => refused,
  };
}

const COUNT = 600;
// Posted once at most, but a batch whose answer was late under load (a retry) goes once more; halved again
// and again as before the fix, a too-large message went ~11 times. The waits are bounds against being held
// up, generous for a loaded machine (a second post of one under load: r29).
const MOST_POSTS = 2;
const BIGS = [100, 250, 400, 550];

describe("review r26: messages over the far side's body limit do not hold up the ones behind them", () => {
  for (const kind of NEAR_LINK_KINDS) {
    it(`${kind}: each too-large message is posted once at most, the others arrive in order at once`, async () => {
      const far = new Bus({ id: `r26-fit-far-${kind.length}` });
      const near = new Bus({ id: `r26-fit-near-${kind.length}` });
      near.on("error", () => undefined);
      const farServer = await serve({ bus: far, maxBodySize: LIMIT });
      const nearServer = await serve({ bus: near });
      const front = await counter(farServer.port);
      const received: number[] = [];
      far.follow("app:n", (message: Message) => {
        received.push(message.args[0] as number);
      });
      const options = { bus: near, exportFilters: ["app:*"], retryDelay: { initial: 20, max: 100 } };
      const link = await connectNearLink(kind, front.url, options, nearServer);
      try {
        const pad = "s".repeat(100);
        const started = Date.now();
        for (let round = 0; round < 2; round++) {
          for (let i = 0; i < COUNT; i++) {
            const n = round * COUNT + i;
            near.twitter("app:n", n, BIGS.includes(i) ? `BIG${n}:${"x".repeat(BIG)}` : pad);
          }
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        const small = Array.from({ length: 2 * COUNT }, (_, n) => n).filter((n) => !BIGS.includes(n % COUNT));
        await waitFor(() => received.length >= small.length && link.backlog === 0, "every small message received", 10_000);
        assert.ok(Date.now() - started < 10_000);
        assert.deepEqual(received, small, "the small ones, in order");
        for (const n of [...BIGS, ...BIGS.map((i) => COUNT + i)]) {
          assert.ok(front.sent(`BIG${n}:`) <= MOST_POSTS, `BIG${n} sent ${front.sent(`BIG${n}:`)} times`);
        }
        assert.ok(front.refused() <= 2, `the far server answered 413 ${front.refused()} times`);
        assert.equal(link.stats.dropped, 2 * BIGS.length, "each too-large message dropped (counted) once");
      } finally {
        await link.close();
        await front.close();
        await Promise.all([nearServer.close(), farServer.close()]);
      }
    });
  }

  it("PeerLink: the asker of a too-large answer gets the error answer at once; the answers behind it arrive", async () => {
    const asker = new Bus({ id: "r26-fit-asker" });
    const answerer = new Bus({ id: "r26-fit-answerer" });
    asker.on("error", () => undefined);
    answerer.on("error", () => undefined);
    const askerServer = await serve({ bus: asker, maxBodySize: LIMIT });
    const answererServer = await serve({ bus: answerer });
    const front = await counter(askerServer.port);
    answerer.follow("svc:n", (message: Message) => {
      const n = message.args[0] as number;
      return BIGS.includes(n) ? `BIG${n}:${"x".repeat(BIG)}` : `small${n}`;
    });
    const peer = await PeerLink.connect(front.url, { bus: answerer, server: answererServer });
    peer.on("error", () => undefined);
    try {
      await waitFor(() => peer.streaming, "the link stream is open");
      for (let i = 0; i < 50; i++) {
        try {
          await asker.ask("svc:n", -1, within({ timeout: 300 }));
          break;
        } catch {}
      }
      const started = Date.now();
      const outcomes = await Promise.all(
        Array.from({ length: COUNT }, (_, n) =>
          asker.ask("svc:n", n, within({ timeout: 10_000 })).then(
            (value) => ({ n, value, ms: Date.now() - started }),
            (error: { remoteName?: string; name?: string }) => ({
              n,
              value: error.remoteName ?? error.name,
              ms: Date.now() - started,
            }),
          ),
        ),
      );
      for (const { n, value } of outcomes) {
        if (BIGS.includes(n)) assert.equal(value, "UnsendableMessageError", `answer ${n}`);
        else assert.equal(value, `small${n}`, `answer ${n}`);
      }
      const slowest = Math.max(...outcomes.map((outcome) => outcome.ms));
      assert.ok(slowest < 8_000, `the last answer came after ${slowest} ms`);
      for (const n of BIGS) assert.ok(front.sent(`BIG${n}:`) <= MOST_POSTS, `BIG${n} sent ${front.sent(`BIG${n}:`)} times`);
    } finally {
      await peer.close();
      await front.close();
      await Promise.all([answererServer.close(), askerServer.close()]);
      asker.close();
      answerer.close();
    }
  });
});
