// Red team r22: with replies off Redis sends no error either. An ACL user whose channel permissions do
// not cover a channel (Redis 7's default is `resetchannels`) has every PUBLISH there refused with NOPERM:
// over the ioredis client that fails the batch (LINK_DOWN, retried, reported undelivered at close); over
// the replyless socket the refusal was silent, the next sync confirmed the batch, and the Link counted
// the messages sent: lost, unreported.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { Redis } from "ioredis";
import type { LinkUndeliveredError } from "../../../bridges/errors.js";
import { RedisLink } from "../../../bridges/redis/index.js";
import { CHANNEL_RECHECK, ReplylessPublisher } from "../../../bridges/redis/replyless-publisher.js";
import type { BerryError } from "../../../lib/errors.js";
import { Bus } from "../../../lib/index.js";
import { startRedis } from "../../helpers/redis-server.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

describe("RedisLink replyless PUBLISH refused by Redis (red team r22)", () => {
  it("a channel the ACL user may not publish on fails the batch, reported and retried, as over the client", async () => {
    const redis = await startRedis({ own: true, args: ["--user", "bob", "on", ">pw", "~*", "&*", "+@all"] });
    const admin = new Redis(redis.url);
    const prefix = `pr-${randomUUID()}:`;
    const sender = new Bus();
    const reports: BerryError[] = [];
    sender.on("error", (error) => reports.push(error));
    const out = await RedisLink.connect({
      bus: sender,
      connection: `redis://bob:pw@127.0.0.1:${redis.port}`,
      prefix,
      importFilters: ["z:*"],
      retryDelay: { initial: 20, max: 100 },
    });
    assert.equal(out.publishPath, "replyless");
    const receiver = new Bus();
    receiver.on("error", () => {});
    const into = await RedisLink.connect({ bus: receiver, connection: redis.url, prefix, importFilters: ["n:*", "m:*"] });
    const got: string[] = [];
    receiver.follow("*", (m) => void got.push(`${m.id}${m.args[0]}`));
    // bob keeps its own subscriptions (Redis 7 would cut them otherwise), and may publish nowhere else.
    const onlyItsPatterns = out.patterns.map((pattern) => `&${pattern}`);

    const reported = (code: string, pattern: RegExp): boolean =>
      reports.some((error) => error.code === code && pattern.test(error.message));

    // A channel refused from its first PUBLISH: that batch (counted sent already) is reported lost, the
    // next one fails, reported, buffered and retried until Redis takes it.
    await admin.call("ACL", "SETUSER", "bob", "resetchannels", ...onlyItsPatterns);
    sender.twitter("n:x", 0);
    await waitFor(
      () => reported("REDIS_COMMAND_FAILED", /PUBLISH on "[^"]*n:x" \(1 PUBLISHes .*lost\) failed: NOPERM/),
      "the loss reported",
      10_000,
    );
    assert.equal(out.stats.sent, 1);
    assert.equal(out.stats.lost, 1, "the lost message is counted");
    for (let i = 1; i <= 10; i++) sender.twitter("n:x", i);
    await waitFor(() => reported("LINK_DOWN", /PUBLISH on "[^"]*n:x" failed: NOPERM/), "LINK_DOWN", 10_000);
    await sleep(200);
    assert.equal(out.stats.sent, 1, "the refused batch is not counted sent");
    await admin.call("ACL", "SETUSER", "bob", "allchannels");
    await waitFor(() => got.length === 10, "the 10 messages, retried once Redis takes them", 10_000);
    assert.deepEqual(
      got,
      Array.from({ length: 10 }, (_, i) => `n:x${i + 1}`),
    );

    // A channel taken first, then refused at run time: noticed within CHANNEL_RECHECK.
    sender.twitter("m:y", 0);
    await waitFor(() => got.length === 11 && out.stats.sent === 12, "m:y 0", 10_000);
    await admin.call("ACL", "SETUSER", "bob", "resetchannels", ...onlyItsPatterns);
    await sleep(CHANNEL_RECHECK + 200);
    reports.length = 0;
    sender.twitter("m:y", 1);
    await waitFor(
      () => reported("REDIS_COMMAND_FAILED", /PUBLISH on "[^"]*m:y" \(1 PUBLISHes .*lost\) failed: NOPERM/),
      "the loss reported",
      10_000,
    );
    for (let i = 2; i <= 5; i++) sender.twitter("m:y", i);
    await waitFor(() => reported("LINK_DOWN", /PUBLISH on "[^"]*m:y" failed: NOPERM/), "LINK_DOWN", 10_000);
    await sleep(200);
    assert.equal(out.stats.sent, 13, "the refused batch is not counted sent");
    assert.equal(out.stats.lost, 2, "m:y 1 is counted lost");
    assert.equal(out.publishPath, "replyless", "the socket stays");

    // Closing with it still refused reports the messages undelivered, as over the client.
    await out.close();
    const undelivered = reports.find((error) => error.code === "LINK_UNDELIVERED") as LinkUndeliveredError | undefined;
    assert.equal(
      undelivered?.undelivered.length,
      4,
      `close reports the 4 buffered messages: ${reports.map((error) => error.code)}`,
    );
    assert.equal(got.length, 11);
    await into.close();
    admin.disconnect();
    await redis.stop();
  });

  it("a batch failed by its first refused check is not also reported lost by its second (found in review)", async (t) => {
    const redis = await startRedis({ own: true, args: ["--user", "bob", "on", ">pw", "~*", "resetchannels", "+@all"] });
    const client = new Redis(`redis://bob:pw@127.0.0.1:${redis.port}`);
    const lost: string[] = [];
    const publisher = new ReplylessPublisher(client, "probe", undefined, (error) => void lost.push(error.message));
    t.after(async () => {
      await publisher.close(100);
      client.disconnect();
      await redis.stop();
    });
    await publisher.opened;
    // Both channels unchecked: the batch goes, and both refusals are reported lost (it was counted sent).
    await publisher.publish([
      ["A", "1"],
      ["B", "1"],
    ]);
    await waitFor(() => lost.length === 2, "the first batch's two refusals reported");
    lost.length = 0;
    // Both refused before: this batch waits for its checks, and the first refusal fails it.
    const outcome = await publisher
      .publish([
        ["A", "2"],
        ["B", "2"],
      ])
      .then(
        () => "resolved",
        (error: Error) => `rejected: ${error.message}`,
      );
    assert.match(outcome, /^rejected: .*NOPERM/);
    await sleep(300);
    assert.deepEqual(lost, [], "the Link sends the rejected batch again: nothing of it is lost");
  });
});
