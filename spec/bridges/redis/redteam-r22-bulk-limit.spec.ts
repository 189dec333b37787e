// Red team r22: a Redis whose proto-max-bulk-len is below maxMessageBytes (1mb, its smallest, against 16
// MiB by default) answers a larger PUBLISH with a protocol error and closes the connection. Over the
// replyless socket (replies off, so not even the error came) the batch was counted sent, written again on
// every new socket, which Redis closed again, every 100 ms, with nothing reported, and every later message
// stuck behind it; over the client it failed and was retried for ever (LINK_DOWN), the messages behind it
// stuck too. The link now reads the limit and drops such a message alone, reported, as one over
// maxMessageBytes.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { UnsendableMessageError } from "../../../bridges/errors.js";
import { RedisLink } from "../../../bridges/redis/index.js";
import type { BerryError } from "../../../lib/errors.js";
import { Bus } from "../../../lib/index.js";
import { startRedis } from "../../helpers/redis-server.js";
import { waitFor } from "../../helpers/wait-for.js";

describe("RedisLink on a Redis with proto-max-bulk-len below maxMessageBytes (red team r22)", () => {
  for (const replylessPublish of ["auto", false] as const) {
    it(`replylessPublish ${replylessPublish}: a message over it is dropped alone, reported; the rest arrive`, async () => {
      const redis = await startRedis({ own: true, args: ["--proto-max-bulk-len", "1mb"] });
      const prefix = `bl-${randomUUID()}:`;
      const sender = new Bus();
      const reports: BerryError[] = [];
      sender.on("error", (error) => reports.push(error));
      const out = await RedisLink.connect({
        bus: sender,
        connection: redis.url,
        prefix,
        replylessPublish,
        retryDelay: { initial: 20, max: 100 },
      });
      assert.equal(out.publishPath, replylessPublish === false ? "client" : "replyless");
      const receiver = new Bus();
      receiver.on("error", () => {});
      const into = await RedisLink.connect({ bus: receiver, connection: redis.url, prefix, importFilters: ["n:*"] });
      const got: number[] = [];
      receiver.follow("n:*", (m) => void got.push(m.args[0] as number));
      sender.twitter("n:x", 0);
      sender.twitter("n:x", 1, "x".repeat(1_100_000));
      // Within the limit (1,048,576 bytes) once framed.
      sender.twitter("n:x", 2, "y".repeat(1_000_000));
      sender.twitter("n:x", 3);
      await waitFor(() => got.length === 3, "messages 0, 2 and 3", 10_000);
      assert.deepEqual(got, [0, 2, 3]);
      const unsendable = reports.filter((error) => error.code === "UNSENDABLE");
      assert.equal(unsendable.length, 1, `one report: ${reports.map((error) => error.code)}`);
      assert.ok(unsendable[0] instanceof UnsendableMessageError);
      assert.match(unsendable[0]?.message ?? "", /proto-max-bulk-len \(1048576\)/);
      assert.equal(out.stats.dropped, 1);
      assert.equal(out.stats.sent, 3);
      await out.close();
      await into.close();
      await redis.stop();
    });
  }
});
