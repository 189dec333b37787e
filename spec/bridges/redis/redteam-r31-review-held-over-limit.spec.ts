// Red team r31 review: with replylessPublish "auto", Redis refusing the replyless socket at a reconnection
// (an ACL change taking `+client|reply` away) hands its unconfirmed batches to the ioredis client, published
// there before anything else. One of them over a proto-max-bulk-len lowered at run time (the very batch the
// socket stalled on) made that PUBLISH fail, the client reconnect, and the same held PUBLISHes go again, for
// ever: every later batch failed behind them, nothing reported but the outage. The held PUBLISHes are now
// revised with the limits read anew, as the replyless socket's own are: the message over them is left out
// and reported, the rest goes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Redis } from "ioredis";
import { startRedis } from "../../helpers/redis-server.js";
import { linkedPair, oneReportedLost, sendPastLimit } from "./runtime-limit-pair.js";
import { waitFor } from "../../helpers/wait-for.js";

describe("RedisLink replyless falling back with a batch over a limit lowered at run time (red team r31 review)", () => {
  it("the message over the limit is reported lost; the rest arrive over the client", async (t) => {
    const server = await startRedis({ own: true });
    t.after(() => server.stop());
    const admin = new Redis(server.url);
    t.after(() => admin.disconnect());
    await admin.call("ACL", "SETUSER", "link", "on", ">s3cret", "+@all", "~*", "allchannels");
    const pair = await linkedPair(t, { sender: `redis://link:s3cret@127.0.0.1:${server.port}`, receiver: server.url });
    const { sender, out, got } = pair;
    await sender.twitter("n:x", 0);
    await waitFor(() => got.length === 1, "message 0");
    await admin.config("SET", "proto-max-bulk-len", "1mb");
    await admin.call("ACL", "SETUSER", "link", "-client|reply");
    sendPastLimit(sender);
    await waitFor(() => out.publishPath === "client", "the fallback", 10_000);
    sender.twitter("n:x", 4);
    // Before: [0] for ever, the client reconnecting every time it published the held PUBLISHes.
    await waitFor(() => got.length === 4, "messages 0, 2, 3 and 4", 10_000);
    assert.deepEqual(got, [0, 2, 3, 4]);
    oneReportedLost(pair, /proto-max-bulk-len \(1048576\)/);
  });
});
