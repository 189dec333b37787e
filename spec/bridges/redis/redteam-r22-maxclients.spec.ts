// Red team r22: a Redis at maxclients takes the link's ioredis connections but refuses its extra replyless
// socket (`-ERR max number of clients reached`, then it closes). That answer was taken for "not now": the
// socket was opened again every 100 ms for ever, and RedisLink.connect() never settled, unreported.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { Redis } from "ioredis";
import { RedisLink } from "../../../bridges/redis/index.js";
import type { BerryError } from "../../../lib/errors.js";
import { Bus } from "../../../lib/index.js";
import { startRedis } from "../../helpers/redis-server.js";
import { settlesWithin, waitFor } from "../../helpers/wait-for.js";

describe("RedisLink on a Redis at maxclients (red team r22)", () => {
  it('"auto" falls back to the client, reported, and delivers; true rejects connect(); neither hangs', async () => {
    // 5 clients: the receiver's two (client publishing), the sender's two, one filler; the sender's
    // replyless socket is the sixth.
    const redis = await startRedis({ own: true, args: ["--maxclients", "5"] });
    const prefix = `mc-${randomUUID()}:`;
    const receiver = new Bus();
    receiver.on("error", () => {});
    const into = await RedisLink.connect({
      bus: receiver,
      connection: redis.url,
      prefix,
      importFilters: ["n:*"],
      replylessPublish: false,
    });
    const got: number[] = [];
    receiver.follow("n:*", (m) => void got.push(m.args[0] as number));
    const filler = new Redis(redis.url);
    await filler.ping();

    const sender = new Bus();
    const reports: BerryError[] = [];
    sender.on("error", (error) => reports.push(error));
    const connecting = RedisLink.connect({ bus: sender, connection: redis.url, prefix });
    assert.ok(await settlesWithin(connecting, 10_000), "connect() settles (it hung, reopening the socket for ever)");
    const out = await connecting;
    assert.equal(out.publishPath, "client");
    assert.match(out.replylessFallback ?? "", /max number of clients/);
    const fallbacks = reports.filter((error) => error.code === "REDIS_REPLYLESS_FALLBACK");
    assert.equal(fallbacks.length, 1, "reported once");
    for (let i = 0; i < 200; i++) sender.twitter("n:x", i);
    await waitFor(() => got.length === 200, "200 messages", 10_000);
    assert.deepEqual(
      got,
      Array.from({ length: 200 }, (_, i) => i),
    );
    await out.close();

    const strict = RedisLink.connect({ bus: new Bus(), connection: redis.url, prefix, replylessPublish: true });
    assert.ok(
      await settlesWithin(
        strict.catch(() => {}),
        10_000,
      ),
      "connect() settles with replylessPublish: true",
    );
    await assert.rejects(strict, (error: BerryError) => {
      assert.equal(error.code, "REDIS_REPLYLESS_REFUSED");
      assert.match(error.message, /max number of clients/);
      return true;
    });
    filler.disconnect();
    await into.close();
    await redis.stop();
  });
});
