// Red team r32 (request/response): a burst of asks past a link's buffer (bufferSize, default 10,000), the far
// side up. Those past the bound are refused at once with LinkOverflowError, as documented; but each refusal
// ended a request, and before refusing the next one the link looked through its whole buffer again for
// requests that ended (none had: a refused request is in no buffer). 40,000 asks at once blocked the process
// ~40 s, and the 10,000 buffered asks timed out unsent. Over a real PeerLink (HTTP on 127.0.0.1).
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { LinkOverflowError } from "../../bridges/errors.js";
import { PeerLink, serve } from "../../bridges/jsonrpc/index.js";
import { Bus } from "../../lib/bus.js";
import { within } from "../../lib/request.js";

describe("red team r32: a burst of asks past a link's buffer", () => {
  const closing: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const close of closing.reverse()) await close();
  });

  it("25,000 asks: the refusals are quick, the buffered ones are answered", { timeout: 60_000 }, async () => {
    const asker = new Bus({ id: "r32-burst-asker" });
    const answerer = new Bus({ id: "r32-burst-answerer" });
    for (const bus of [asker, answerer]) bus.on("error", () => {});
    const [askerServer, answererServer] = await Promise.all([serve({ bus: asker }), serve({ bus: answerer })]);
    const link = await PeerLink.connect(answererServer.url, { bus: asker, server: askerServer });
    link.on("error", () => {});
    closing.push(async () => {
      await link.close();
      await Promise.all([askerServer.close(), answererServer.close()]);
      for (const bus of [asker, answerer]) bus.close();
    });
    answerer.follow("calc:inc", (m) => (m.args[0] as number) + 1);
    assert.equal(await asker.ask("calc:inc", 1, within({ timeout: 5_000 })), 2);
    const started = performance.now();
    const asks: Promise<string>[] = [];
    for (let i = 0; i < 25_000; i++) {
      asks.push(
        asker.ask("calc:inc", i, within({ timeout: 20_000 })).then(
          (value) => (value === i + 1 ? "ok" : `wrong ${String(value)}`),
          (error: unknown) => (error instanceof LinkOverflowError ? "overflow" : String(error)),
        ),
      );
    }
    const dispatched = performance.now() - started;
    const outcomes = await Promise.all(asks);
    const counts = new Map<string, number>();
    for (const outcome of outcomes) counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
    // The link's buffer holds 10,000 (one place may go to a control message): the rest is refused.
    assert.deepEqual([...counts.keys()].sort(), ["ok", "overflow"], JSON.stringify([...counts]));
    assert.ok((counts.get("ok") ?? 0) >= 9_900, JSON.stringify([...counts]));
    assert.ok(
      dispatched < 5_000,
      `dispatching the burst took ${Math.round(dispatched)} ms (each refusal looked through the buffer)`,
    );
    assert.equal(asker.pendingRequests, 0);
  });
});
