// Red team r31 review: a replyless batch Redis refuses (a frame over a proto-max-bulk-len lowered at run
// time) is dropped, reported, once Redis refused it on 3 sockets while answering the link's client: the
// backstop where CONFIG is refused. The probe was a PFCOUNT of a key: an ACL user with no key patterns
// (Redis 7 users start with none, and a RedisLink needs none) has it refused, which counted nothing, and the
// batch stalled every later message for ever, nothing reported, exactly as before r31. The probe is now a
// PUBLISH, on the batch's channel, of a frame receivers take as nothing.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { Redis } from "ioredis";
import { RedisLink } from "../../../bridges/redis/index.js";
import type { BerryError } from "../../../lib/errors.js";
import { Bus } from "../../../lib/index.js";
import { startRedis } from "../../helpers/redis-server.js";
import { waitFor } from "../../helpers/wait-for.js";

describe("RedisLink replyless, a batch refused at run time, an ACL user without keys nor CONFIG (red team r31 review)", () => {
  it("the refused batch is dropped and reported; the rest arrive, and receivers report nothing", async (t) => {
    const server = await startRedis({ own: true });
    t.after(() => server.stop());
    const admin = new Redis(server.url);
    t.after(() => admin.disconnect());
    // No `~pattern`: no key at all. CONFIG refused, as on managed services.
    await admin.call("ACL", "SETUSER", "link", "on", ">s3cret", "+@all", "-config", "allchannels");
    const url = `redis://link:s3cret@127.0.0.1:${server.port}`;
    const prefix = `r31-${randomUUID()}:`;
    const sender = new Bus();
    const reports: BerryError[] = [];
    sender.on("error", (error) => reports.push(error));
    const out = await RedisLink.connect({ bus: sender, connection: url, prefix, retryDelay: { initial: 20, max: 100 } });
    t.after(() => out.close());
    const receiver = new Bus();
    const received: BerryError[] = [];
    receiver.on("error", (error) => received.push(error));
    const into = await RedisLink.connect({ bus: receiver, connection: url, prefix, importFilters: ["n:*"] });
    t.after(() => into.close());
    const got: number[] = [];
    receiver.follow("n:*", (m) => void got.push(m.args[0] as number));
    await sender.twitter("n:x", 0);
    await waitFor(() => got.length === 1, "message 0");
    await admin.config("SET", "proto-max-bulk-len", "1mb");
    sender.twitter("n:x", 1, "x".repeat(1_100_000));
    sender.twitter("n:x", 2, "y".repeat(1_000_000));
    sender.twitter("n:x", 3);
    // A stall of 3 s per socket, 3 sockets. Before: [0] for ever, nothing reported.
    await waitFor(() => got.length === 3, "messages 0, 2 and 3", 25_000);
    assert.deepEqual(got, [0, 2, 3]);
    assert.equal(out.publishPath, "replyless");
    const unsendable = reports.filter((error) => error.code === "UNSENDABLE");
    assert.equal(unsendable.length, 1, `one report: ${reports.map((error) => error.message)}`);
    assert.match(unsendable[0]?.message ?? "", /refused its batch on 3 connections/);
    assert.equal(out.stats.lost, 1);
    // The probes' frames reach the receiver as no message.
    assert.deepEqual(received, []);
    assert.equal(into.stats.rejected, 0);
  });
});
