// Red team r32: close() while Redis pauses writes (CLIENT PAUSE WRITE) and a replyless batch's sync, and the
// probes of it over the link's client, wait. The last sync waits closeTimeout (the pause may end within it:
// then nothing is lost); past it the batch is counted lost, reported. The client's QUIT then waited
// behind the paused probes 5 s more (closing the link took closeTimeout + 5 s, and a second report
// "connections cut"): the client is cut at once when Redis left a batch unconfirmed.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Redis } from "ioredis";
import { startRedis } from "../../helpers/redis-server.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { linkedPair } from "./runtime-limit-pair.js";

describe("RedisLink replyless: close() while Redis pauses writes (red team r32)", () => {
  it("takes closeTimeout, not 5 s more, and counts the held message lost, reported", async (t) => {
    const server = await startRedis({ own: true });
    const raw = new Redis(server.url);
    raw.on("error", () => {});
    // Unpaused first: a paused server is slow to stop.
    t.after(async () => {
      await raw.call("CLIENT", "UNPAUSE").catch(() => {});
      raw.disconnect();
      await server.stop();
    });
    const { sender, out, got, reports } = await linkedPair(t, { sender: server.url });
    sender.twitter("n:x", 0);
    await waitFor(() => got.length === 1, "message 0");
    await sleep(100); // its batch confirmed
    await raw.call("CLIENT", "PAUSE", "20000", "WRITE");
    sender.twitter("n:x", 1);
    // Its sync unanswered for 3 s (SYNC_TIMEOUT): the probes go over the client, paused as well.
    await sleep(3_500);
    const started = performance.now();
    await out.close();
    const took = performance.now() - started;
    // Before: ~7 s (closeTimeout 2 s, then the client's QUIT held 5 s).
    assert.ok(took < 2_000 + 2_000, `close took ${Math.round(took)} ms`);
    assert.equal(out.stats.lost, 1);
    assert.ok(
      reports.some((error) => /confirming 1 published batches before close \(1 messages, counted lost/.test(error.message)),
      `reports: ${reports.map((error) => error.message)}`,
    );
    assert.ok(!reports.some((error) => /connections cut/.test(error.message)), "no second report");
  });
});
