// Red team r31: RedisLink reads Redis's proto-max-bulk-len and client-query-buffer-limit as it connects
// (r22). Lowered at run time (`CONFIG SET`), Redis refuses a larger PUBLISH: over the replyless socket
// (replies off) Redis 7.0 answers nothing and reads nothing more on it, or, the PUBLISH being a channel
// check, answers "-ERR Protocol error" and closes it. The batch had been counted sent and was written again
// on every new socket, refused again, for ever: nothing reported, every later message stuck behind it. The
// socket opened again now reads the limits anew first (a message over them is reported lost, the rest goes),
// and a batch Redis refuses on 3 sockets while it answers the link's client (limits unreadable) is dropped,
// reported. A Redis merely hung meanwhile loses nothing.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it, type TestContext } from "node:test";
import { Redis } from "ioredis";
import { UnsendableMessageError } from "../../../bridges/errors.js";
import { type RedisServer, redisWithRawClient, startRedis } from "../../helpers/redis-server.js";
import { linkedPair } from "./runtime-limit-pair.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

const redis = redisWithRawClient();

/**
 * A sending link and a receiving one on `server`, closed after the test (then `server` too, when `own`:
 * after hooks run in the order they were added); what the receiver got and the sender's reports.
 */
async function linked(t: TestContext, server: RedisServer, replylessPublish: "auto" | false = "auto", own = false) {
  const pair = await linkedPair(t, { sender: server.url, replylessPublish });
  if (own) t.after(() => server.stop());
  return pair;
}

/** Sets a server setting for the test, put back after it. */
async function lowered(t: TestContext, raw: Redis, name: string, value: string): Promise<void> {
  const [, before] = (await raw.config("GET", name)) as [string, string];
  await raw.config("SET", name, value);
  t.after(() => raw.config("SET", name, before));
}

describe("RedisLink after Redis's limits are lowered at run time (red team r31)", () => {
  for (const checked of [false, true]) {
    it(`replyless, proto-max-bulk-len${checked ? " (the PUBLISH a channel check)" : ""}: the message over it is reported lost, the rest arrive`, async (t) => {
      const { sender, out, got, reports, unsendable } = await linked(t, redis.server);
      await lowered(t, redis.raw, "proto-max-bulk-len", "1mb");
      sender.twitter("n:x", 0);
      // Its channel checked (answered): the next PUBLISHes go with replies off, and Redis answers nothing.
      if (!checked) await waitFor(() => got.length === 1, "message 0");
      sender.twitter("n:x", 1, "x".repeat(1_100_000));
      sender.twitter("n:x", 2, "y".repeat(1_000_000));
      sender.twitter("n:x", 3);
      // Before: [0], and nothing reported, for ever.
      await waitFor(() => got.length === 3, "messages 0, 2 and 3", 10_000);
      assert.deepEqual(got, [0, 2, 3]);
      assert.equal(out.publishPath, "replyless");
      assert.equal(unsendable().length, 1, `one report: ${reports.map((error) => error.message)}`);
      assert.ok(unsendable()[0] instanceof UnsendableMessageError);
      assert.match(unsendable()[0]?.message ?? "", /proto-max-bulk-len \(1048576\)/);
      assert.equal(out.stats.lost, 1);
    });
  }

  // Passed before too: the client's error fails the batch, and the limits are read again as it reconnects.
  it("over the client: the message over the new proto-max-bulk-len is dropped alone, reported; the rest arrive", async (t) => {
    const { sender, out, got, reports, unsendable } = await linked(t, redis.server, false);
    await lowered(t, redis.raw, "proto-max-bulk-len", "1mb");
    sender.twitter("n:x", 0);
    sender.twitter("n:x", 1, "x".repeat(1_100_000));
    sender.twitter("n:x", 2, "y".repeat(1_000_000));
    sender.twitter("n:x", 3);
    await waitFor(() => got.length === 3, "messages 0, 2 and 3", 10_000);
    assert.deepEqual(got, [0, 2, 3]);
    assert.equal(unsendable().length, 1, `one report: ${reports.map((error) => error.message)}`);
    assert.equal(out.stats.dropped, 1);
  });

  it("replyless, CONFIG unreadable: a batch Redis refuses on 3 sockets while it answers is dropped, reported; the rest arrive", async (t) => {
    const config = `cfg-${randomUUID()}`;
    const server = await startRedis({ own: true, args: ["--rename-command", "CONFIG", config] });
    const { sender, out, got, reports, unsendable } = await linked(t, server, "auto", true);
    await sender.twitter("n:x", 0);
    await waitFor(() => got.length === 1, "message 0");
    const raw = new Redis(server.url);
    t.after(() => raw.disconnect());
    await raw.call(config, "SET", "proto-max-bulk-len", "1mb");
    sender.twitter("n:x", 1, "x".repeat(1_100_000));
    sender.twitter("n:x", 2, "y".repeat(1_000_000));
    sender.twitter("n:x", 3);
    // A stall of SYNC_TIMEOUT (3 s) per socket: Redis refuses 1 on three of them (its batch known by its
    // own sync), 2 and 3 go on the next.
    await waitFor(() => got.length === 3, "messages 0, 2 and 3", 25_000);
    assert.deepEqual(got, [0, 2, 3]);
    assert.equal(unsendable().length, 1, `one report: ${reports.map((error) => error.message)}`);
    assert.match(unsendable()[0]?.message ?? "", /refused its batch on 3 connections/);
    assert.equal(out.stats.lost, 1);
  });

  it("replyless: a Redis hung past the sync timeout three times loses nothing", async (t) => {
    const server = await startRedis({ own: true });
    const pid = server.pid as number;
    // First of the after hooks: the links close, and the server stops, on a running Redis.
    t.after(() => process.kill(pid, "SIGCONT"));
    const { sender, out, got, reports } = await linked(t, server, "auto", true);
    for (let i = 0; i < 3; i++) {
      process.kill(pid, "SIGSTOP");
      sender.twitter("n:x", i);
      await sleep(4_000);
      process.kill(pid, "SIGCONT");
      await waitFor(() => got.includes(i), `message ${i}`, 5_000);
    }
    assert.deepEqual([...new Set(got)], [0, 1, 2]);
    assert.equal(out.stats.lost, 0);
    assert.deepEqual(
      reports.filter((error) => error.code === "UNSENDABLE"),
      [],
    );
  });

  // Review: a PING answers under `CLIENT PAUSE WRITE` (a controlled switchover, FAILOVER) while a PUBLISH
  // waits; with PINGs as the probe, a pause of 10 s took the waiting batch for refused on 3 sockets and
  // dropped it, reported lost. The probe is a PFCOUNT now, which the pause holds as it holds a PUBLISH.
  it("replyless: a Redis pausing writes (CLIENT PAUSE WRITE) past three sync timeouts loses nothing", async (t) => {
    const server = await startRedis({ own: true });
    const { sender, out, got, reports } = await linked(t, server, "auto", true);
    await sender.twitter("n:x", 0);
    await waitFor(() => got.length === 1, "message 0");
    const raw = new Redis(server.url);
    t.after(() => raw.disconnect());
    await raw.call("CLIENT", "PAUSE", "11000", "WRITE");
    sender.twitter("n:x", 1);
    await waitFor(() => got.length === 2, "message 1, after the pause", 20_000);
    assert.deepEqual(got, [0, 1]);
    assert.equal(out.stats.lost, 0);
    assert.deepEqual(
      reports.filter((error) => error.code === "UNSENDABLE").map((error) => error.message),
      [],
    );
  });
});
