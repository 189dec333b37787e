// Red team r31 review: Redis 7.0 closes a client whose query buffer passes client-query-buffer-limit (no
// stall, no protocol error): lowered at run time where CONFIG is refused (no revise learns it), a replyless
// batch over it was written again on every new socket and closed again, every 100 ms for ever (10 sockets a
// second, a MB each), every later message stuck behind it, nothing reported. A socket Redis closes while a
// batch's own sync is the oldest on its way now counts a refusal, as a stall does, once the link's client
// answers the probes; at the third the batch is dropped, reported.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { Redis } from "ioredis";
import { startRedis } from "../../helpers/redis-server.js";
import { linkedPair, oneReportedLost, sendPastLimit } from "./runtime-limit-pair.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

describe("RedisLink replyless, client-query-buffer-limit lowered at run time, CONFIG refused (red team r31 review)", () => {
  it("the batch over it is dropped and reported; the rest arrive", async (t) => {
    const config = `cfg-${randomUUID()}`;
    const server = await startRedis({ own: true, args: ["--rename-command", "CONFIG", config] });
    t.after(() => server.stop());
    const pair = await linkedPair(t, { sender: server.url });
    const { sender, out, got } = pair;
    await sender.twitter("n:x", 0);
    await waitFor(() => got.length === 1, "message 0");
    const raw = new Redis(server.url);
    t.after(() => raw.disconnect());
    await raw.call(config, "SET", "client-query-buffer-limit", "1mb");
    sendPastLimit(sender, 500_000);
    // Before: [0] for ever, nothing reported.
    await waitFor(() => got.length === 3, "messages 0, 2 and 3", 10_000);
    assert.deepEqual(got, [0, 2, 3]);
    assert.equal(out.publishPath, "replyless");
    oneReportedLost(pair, /refused its batch on 3 connections/);
  });

  // A good batch's socket closed by Redis counts nothing while Redis holds the probes as it holds the batch.
  it("the socket killed three times while Redis pauses writes (CLIENT PAUSE WRITE): nothing lost", async (t) => {
    const server = await startRedis({ own: true });
    t.after(() => server.stop());
    const { sender, out, got, reports } = await linkedPair(t, { sender: server.url });
    await sender.twitter("n:x", 0);
    await waitFor(() => got.length === 1, "message 0");
    const raw = new Redis(server.url);
    t.after(() => raw.disconnect());
    const socketId = async (): Promise<string | undefined> => {
      const list = (await raw.call("CLIENT", "LIST")) as string;
      return list
        .split("\n")
        .find((line) => line.includes(`name=berrymq-link-rpub:${sender.id} `))
        ?.match(/^id=(\d+)/)?.[1];
    };
    // Long enough for 3 sockets: each waits 3 s for the probes and 3 s for its revise (CONFIG GET queued
    // behind them on the client) before it writes the batch.
    await raw.call("CLIENT", "PAUSE", "22000", "WRITE");
    sender.twitter("n:x", 1);
    for (let i = 0; i < 3; i++) {
      // The socket open (again), its batch written and held by the pause.
      let id = await socketId();
      for (const deadline = Date.now() + 6_000; id === undefined && Date.now() < deadline; id = await socketId()) await sleep(50);
      assert.ok(id !== undefined, `socket ${i} open`);
      await sleep(i === 0 ? 200 : 3_500);
      await raw.call("CLIENT", "KILL", "ID", id);
    }
    await waitFor(() => got.length === 2, "message 1, after the pause", 30_000);
    assert.deepEqual(got, [0, 1]);
    assert.equal(out.stats.lost, 0);
    assert.deepEqual(
      reports.filter((error) => error.code === "UNSENDABLE"),
      [],
    );
  });
});
