// Red team r31 review: with replylessPublish "auto", Redis refusing the replyless socket at a reconnection
// (an ACL change taking `+client|reply` away) hands its unconfirmed batches to the ioredis client, published
// there before anything else. One of them over a proto-max-bulk-len lowered at run time (the very batch the
// socket stalled on) made that PUBLISH fail, the client reconnect, and the same held PUBLISHes go again, for
// ever: every later batch failed behind them, nothing reported but the outage. The held PUBLISHes are now
// revised with the limits read anew, as the replyless socket's own are: the message over them is left out
// and reported, the rest goes.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { Redis } from "ioredis";
import { RedisLink } from "../../../bridges/redis/index.js";
import type { BerryError } from "../../../lib/errors.js";
import { Bus } from "../../../lib/index.js";
import { startRedis } from "../../helpers/redis-server.js";
import { waitFor } from "../../helpers/wait-for.js";

describe("RedisLink replyless falling back with a batch over a limit lowered at run time (red team r31 review)", () => {
  it("the message over the limit is reported lost; the rest arrive over the client", async (t) => {
    const server = await startRedis({ own: true });
    t.after(() => server.stop());
    const admin = new Redis(server.url);
    t.after(() => admin.disconnect());
    await admin.call("ACL", "SETUSER", "link", "on", ">s3cret", "+@all", "~*", "allchannels");
    const url = `redis://link:s3cret@127.0.0.1:${server.port}`;
    const prefix = `r31-${randomUUID()}:`;
    const sender = new Bus();
    const reports: BerryError[] = [];
    sender.on("error", (error) => reports.push(error));
    const out = await RedisLink.connect({ bus: sender, connection: url, prefix, retryDelay: { initial: 20, max: 100 } });
    t.after(() => out.close());
    const receiver = new Bus();
    receiver.on("error", () => {});
    const into = await RedisLink.connect({ bus: receiver, connection: server.url, prefix, importFilters: ["n:*"] });
    t.after(() => into.close());
    const got: number[] = [];
    receiver.follow("n:*", (m) => void got.push(m.args[0] as number));
    await sender.twitter("n:x", 0);
    await waitFor(() => got.length === 1, "message 0");
    await admin.config("SET", "proto-max-bulk-len", "1mb");
    await admin.call("ACL", "SETUSER", "link", "-client|reply");
    sender.twitter("n:x", 1, "x".repeat(1_100_000));
    sender.twitter("n:x", 2, "y".repeat(1_000_000));
    sender.twitter("n:x", 3);
    await waitFor(() => out.publishPath === "client", "the fallback", 10_000);
    sender.twitter("n:x", 4);
    // Before: [0] for ever, the client reconnecting every time it published the held PUBLISHes.
    await waitFor(() => got.length === 4, "messages 0, 2, 3 and 4", 10_000);
    assert.deepEqual(got, [0, 2, 3, 4]);
    const unsendable = reports.filter((error) => error.code === "UNSENDABLE");
    assert.equal(unsendable.length, 1, `one report: ${reports.map((error) => error.message)}`);
    assert.match(unsendable[0]?.message ?? "", /proto-max-bulk-len \(1048576\)/);
    assert.equal(out.stats.lost, 1);
  });
});
