// Red team (r21) of RedisLink: one message larger than Redis's pub/sub output limit (32 MB by default).
// Its PUBLISH made Redis cut every subscriber of the channel, losing what else they were sent meanwhile;
// the sender counted it as sent. Now a message over maxMessageBytes is refused at send, alone.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { DEFAULT_MAX_MESSAGE_BYTES, RedisLink } from "../../../bridges/redis/redis-link.js";
import { Bus } from "../../../lib/bus.js";
import { type BerryError, InvalidArgumentError } from "../../../lib/errors.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

let server: RedisServer;
before(async () => {
  server = await startRedis();
});
after(async () => {
  await server.stop();
});

/** A sending and a receiving link on a fresh prefix; `got` collects the first argument of each `big:*`. */
async function pair(options: { replylessPublish: boolean | "auto"; maxMessageBytes?: number }) {
  const prefix = `rt21-${randomUUID()}:`;
  const sender = new Bus();
  const receiver = new Bus();
  const out = await RedisLink.connect({ bus: sender, connection: server.url, prefix, exportFilters: ["big:*"], ...options });
  const into = await RedisLink.connect({ bus: receiver, connection: server.url, prefix, importFilters: ["big:*"] });
  const errors: BerryError[] = [];
  out.on("error", (error) => void errors.push(error));
  into.on("error", (error) => void errors.push(error));
  const got: unknown[] = [];
  receiver.follow("big:*", (message) => void got.push(message.args[0]));
  const close = async () => {
    await out.close();
    await into.close();
  };
  return { sender, out, errors, got, close };
}

describe("RedisLink maxMessageBytes", () => {
  for (const replylessPublish of [false, "auto"] as const) {
    it(`red team: a 34 MB message is refused alone at send, and the messages around it arrive (replylessPublish ${replylessPublish})`, async () => {
      const { sender, out, errors, got, close } = await pair({ replylessPublish });
      try {
        sender.twitter("big:x", "before");
        sender.twitter("big:x", "huge", "x".repeat(34_000_000));
        sender.twitter("big:x", "after");
        await waitFor(() => got.length >= 2, "the two small messages", 30_000).catch(() => {});
        await sleep(300); // anything more would have come by now
        assert.deepEqual(got, ["before", "after"]);
        const refused = errors.filter((error) => error.code === "UNSENDABLE");
        assert.equal(refused.length, 1, errors.map((error) => error.message).join("; "));
        assert.match(refused[0]?.message ?? "", /"big:x".*over maxMessageBytes \(16777216\)/);
        assert.ok(!errors.some((error) => error.code === "REDIS_MESSAGES_MAY_BE_LOST"), "no subscriber was cut");
        assert.equal(out.stats.sent, 2);
      } finally {
        await close();
      }
    });
  }

  it("a smaller bound refuses what passes it, in UTF-8 bytes, and sends what does not", async () => {
    const { sender, errors, got, close } = await pair({ replylessPublish: "auto", maxMessageBytes: 2_097_152 });
    try {
      sender.twitter("big:x", "small", "x".repeat(1_500_000));
      sender.twitter("big:x", "large", "x".repeat(3_000_000));
      sender.twitter("big:x", "wide", "\u00e9".repeat(1_100_000)); // 1.1 M UTF-16 units, 2.2 MB of UTF-8
      sender.twitter("big:x", "last");
      await waitFor(() => got.length >= 2, "two messages", 10_000);
      await sleep(200);
      assert.deepEqual(got, ["small", "last"]);
      assert.equal(errors.filter((error) => error.code === "UNSENDABLE").length, 2);
    } finally {
      await close();
    }
  });

  it("is refused outside 1 MiB to 512 MiB, naming the option; the default is 16 MiB", () => {
    assert.equal(DEFAULT_MAX_MESSAGE_BYTES, 16 * 1_048_576);
    for (const value of [0, 1_048_575, 1_048_576.5, 536_870_913, Number.NaN]) {
      assert.throws(
        () => new RedisLink({ bus: new Bus(), connection: server.url, maxMessageBytes: value }),
        (error: unknown) => error instanceof InvalidArgumentError && /maxMessageBytes/.test(error.message),
      );
    }
  });
});
