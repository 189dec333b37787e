// Red team r22: a Redis whose proto-max-bulk-len is below maxMessageBytes (1mb, its smallest, against 16
// MiB by default) answers a larger PUBLISH with a protocol error and closes the connection. Over the
// replyless socket (replies off, so not even the error came) the batch was counted sent, written again on
// every new socket, which Redis closed again, every 100 ms, with nothing reported, and every later message
// stuck behind it; over the client it failed and was retried for ever (LINK_DOWN), the messages behind it
// stuck too. The link now reads the limit and drops such a message alone, reported, as one over
// maxMessageBytes.
//
// Likewise a Redis whose client-query-buffer-limit is below maxMessageBytes (1mb, its smallest)
// closes the connection of a PUBLISH whose frame does not fit (a frame of exactly 1 MiB already does not:
// the command around it counts). Over the replyless socket that was silent: the batch counted sent,
// written again on every new socket and closed again, nothing reported, every later message stuck behind
// it; over the client, retried for ever (LINK_DOWN, "Command aborted due to connection close"). The link
// now reads that limit too and drops such a message alone, reported.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { UnsendableMessageError } from "../../../bridges/errors.js";
import { RedisLink } from "../../../bridges/redis/index.js";
import type { BerryError } from "../../../lib/errors.js";
import { Bus } from "../../../lib/index.js";
import { startRedis } from "../../helpers/redis-server.js";
import { waitFor } from "../../helpers/wait-for.js";

type ReplylessPublish = "auto" | false;

/**
 * Messages 0, 1 (`over`), 2 (`under`) and 3 from a RedisLink to a receiver, on a Redis started with
 * `args`; waits for 0, 2 and 3 and returns what arrived, the UNSENDABLE reports and the sending link.
 */
async function sendPastTheLimit(args: string[], replylessPublish: ReplylessPublish, over: string, under: string) {
  const redis = await startRedis({ own: true, args });
  const prefix = `lim-${randomUUID()}:`;
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
  const receiver = new Bus();
  receiver.on("error", () => {});
  const into = await RedisLink.connect({ bus: receiver, connection: redis.url, prefix, importFilters: ["n:*"] });
  const got: number[] = [];
  receiver.follow("n:*", (m) => void got.push(m.args[0] as number));
  sender.twitter("n:x", 0);
  sender.twitter("n:x", 1, over);
  sender.twitter("n:x", 2, under);
  sender.twitter("n:x", 3);
  await waitFor(() => got.length === 3, "messages 0, 2 and 3", 10_000);
  const unsendable = reports.filter((error) => error.code === "UNSENDABLE");
  const stop = async (): Promise<void> => {
    await out.close();
    await into.close();
    await redis.stop();
  };
  return { got, reports, unsendable, out, stop };
}

describe("RedisLink on a Redis with proto-max-bulk-len below maxMessageBytes (red team r22)", () => {
  for (const replylessPublish of ["auto", false] as const) {
    it(`replylessPublish ${replylessPublish}: a message over it is dropped alone, reported; the rest arrive`, async () => {
      // Message 2 is within the limit (1,048,576 bytes) once framed.
      const { got, reports, unsendable, out, stop } = await sendPastTheLimit(
        ["--proto-max-bulk-len", "1mb"],
        replylessPublish,
        "x".repeat(1_100_000),
        "y".repeat(1_000_000),
      );
      assert.equal(out.publishPath, replylessPublish === false ? "client" : "replyless");
      assert.deepEqual(got, [0, 2, 3]);
      assert.equal(unsendable.length, 1, `one report: ${reports.map((error) => error.code)}`);
      assert.ok(unsendable[0] instanceof UnsendableMessageError);
      assert.match(unsendable[0]?.message ?? "", /proto-max-bulk-len \(1048576\)/);
      assert.equal(out.stats.dropped, 1);
      assert.equal(out.stats.sent, 3);
      await stop();
    });
  }
});

describe("RedisLink on a Redis with client-query-buffer-limit below maxMessageBytes (red team r22)", () => {
  for (const replylessPublish of ["auto", false] as const) {
    it(`replylessPublish ${replylessPublish}: a message over it is dropped alone, reported; the rest arrive`, async () => {
      // Message 1's frame is just under 1 MiB: within proto-max-bulk-len (512 MB) and MAX_FRAME_BYTES, over
      // the query buffer's limit once the command is around it.
      const { got, reports, unsendable, out, stop } = await sendPastTheLimit(
        ["--client-query-buffer-limit", "1mb"],
        replylessPublish,
        "x".repeat(1_048_576 - 300),
        "y".repeat(900_000),
      );
      assert.deepEqual(got, [0, 2, 3]);
      assert.equal(unsendable.length, 1, `one report: ${reports.map((error) => error.code)}`);
      assert.ok(unsendable[0] instanceof UnsendableMessageError);
      assert.match(
        String((unsendable[0]?.cause as Error | undefined)?.message ?? unsendable[0]?.cause),
        /client-query-buffer-limit less 1 KiB \(1047552\)/,
      );
      assert.equal(out.stats.dropped, 1);
      await stop();
    });
  }
});
