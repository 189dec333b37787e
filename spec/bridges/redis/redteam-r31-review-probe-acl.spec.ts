// Red team r31 review: a replyless batch Redis refuses (a frame over a proto-max-bulk-len lowered at run
// time) is dropped, reported, once Redis refused it on 3 sockets while answering the link's client: the
// backstop where CONFIG is refused. The probe was a PFCOUNT of a key: an ACL user with no key patterns
// (Redis 7 users start with none, and a RedisLink needs none) has it refused, which counted nothing, and the
// batch stalled every later message for ever, nothing reported, exactly as before r31. The probe is now a
// PUBLISH, on the batch's channel, of a frame receivers take as nothing.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Redis } from "ioredis";
import { startRedis } from "../../helpers/redis-server.js";
import { linkedPair, oneReportedLost, sendPastLimit } from "./runtime-limit-pair.js";
import { waitFor } from "../../helpers/wait-for.js";

describe("RedisLink replyless, a batch refused at run time, an ACL user without keys nor CONFIG (red team r31 review)", () => {
  it("the refused batch is dropped and reported; the rest arrive, and receivers report nothing", async (t) => {
    const server = await startRedis({ own: true });
    t.after(() => server.stop());
    const admin = new Redis(server.url);
    t.after(() => admin.disconnect());
    // No `~pattern`: no key at all. CONFIG refused, as on managed services.
    await admin.call("ACL", "SETUSER", "link", "on", ">s3cret", "+@all", "-config", "allchannels");
    const pair = await linkedPair(t, { sender: `redis://link:s3cret@127.0.0.1:${server.port}` });
    const { sender, out, into, got, received } = pair;
    await sender.twitter("n:x", 0);
    await waitFor(() => got.length === 1, "message 0");
    await admin.config("SET", "proto-max-bulk-len", "1mb");
    sendPastLimit(sender);
    // A stall of 3 s per socket, 3 sockets. Before: [0] for ever, nothing reported.
    await waitFor(() => got.length === 3, "messages 0, 2 and 3", 25_000);
    assert.deepEqual(got, [0, 2, 3]);
    assert.equal(out.publishPath, "replyless");
    oneReportedLost(pair, /refused its batch on 3 connections/);
    // The probes' frames reach the receiver as no message.
    assert.deepEqual(received, []);
    assert.equal(into.stats.rejected, 0);
  });
});
