// Red team r32: close() while the replyless socket, closed by Redis with a batch unconfirmed, waits for its
// probes over the link's client (see redteam-r31-review-query-buffer) before it opens again. close() gave
// up at once there: the batch was counted lost although the next socket, 100 ms after the probes, writes it.
// It now waits, within closeTimeout, for that socket.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Redis } from "ioredis";
import { startRedis } from "../../helpers/redis-server.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { linkedPair } from "./runtime-limit-pair.js";

describe("RedisLink replyless: close() while a closed socket's probes are on their way (red team r32)", () => {
  it("the next socket writes the batch within closeTimeout: delivered, nothing counted lost", async (t) => {
    const server = await startRedis({ own: true });
    const raw = new Redis(server.url);
    raw.on("error", () => {});
    t.after(async () => {
      await raw.call("CLIENT", "UNPAUSE").catch(() => {});
      raw.disconnect();
      await server.stop();
    });
    const { sender, out, got, reports } = await linkedPair(t, { sender: server.url });
    sender.twitter("n:x", 0);
    await waitFor(() => got.length === 1, "message 0");
    await sleep(100); // its batch confirmed
    const list = (await raw.call("CLIENT", "LIST")) as string;
    const id = list
      .split("\n")
      .find((line) => line.includes(`name=berrymq-link-rpub:${sender.id} `))
      ?.match(/^id=(\d+)/)?.[1];
    assert.ok(id !== undefined, "the replyless socket");
    // The batch held by the pause, its socket killed: the probes over the client wait for the pause too.
    await raw.call("CLIENT", "PAUSE", "1000", "WRITE");
    sender.twitter("n:x", 1);
    await sleep(100);
    await raw.call("CLIENT", "KILL", "ID", id);
    await sleep(100);
    await out.close();
    // Before: close() at once, message 1 counted lost, never sent.
    await waitFor(() => got.length === 2, "message 1", 3_000).catch(() => {});
    assert.deepEqual(got, [0, 1], `reports: ${reports.map((error) => error.message)}`);
    assert.equal(out.stats.lost, 0);
  });
});
