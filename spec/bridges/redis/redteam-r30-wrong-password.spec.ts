// Red team r30: a Redis that requires AUTH, given the wrong password. ioredis refuses the connection's
// HELLO (or AUTH) with WRONGPASS, and attaches the command to that error: `command.args` holds the password
// in clear. The same error object is what the commands queued behind it reject with, so
// `DurableChannel.open()` rejected with it as it was (a bare ReplyError naming neither the channel nor the
// server), and `RedisLink.connect()`'s RedisConnectFailedError carried it as its `cause`: any logger that
// printed the error printed the password. Now every client berrymq opens redacts it (its first "error"
// listener, connection.ts redactCredentials), and open() rejects with RedisConnectFailedError naming the
// channel, the server and WRONGPASS. The process then exits by itself.
import assert from "node:assert/strict";
import { it } from "node:test";
import { inspect } from "node:util";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { RedisLink } from "../../../bridges/redis/redis-link.js";
import { Bus } from "../../../lib/bus.js";
import { withClient } from "../../helpers/redis-probe.js";
import { startRedis } from "../../helpers/redis-server.js";
import { runSelf } from "../../helpers/self-child.js";

const CHILD = "R30_WRONG_PASSWORD_CHILD";
const WRONG = "wr0ng-Passw0rd";

// In the child: one open() with the wrong password, its outcome printed; the process must then exit.
if (process.env[CHILD] !== undefined) {
  const outcome = await DurableChannel.open("orders", { connection: process.env[CHILD] }).then(
    async (channel) => {
      await channel.end();
      return "opened";
    },
    (error: unknown) => `rejected ${(error as { code?: string }).code}`,
  );
  console.log(outcome);
} else {
  it("red team: a wrong password: open() and connect() reject naming the cause, never the password, and the process exits", {
    timeout: 30_000,
  }, async (t) => {
    const redis = await startRedis({ own: true });
    t.after(() => redis.stop());
    await withClient(redis.port, (client) => client.call("CONFIG", "SET", "requirepass", "the-right-one"));
    const url = `redis://:${WRONG}@127.0.0.1:${redis.port}`;

    const opened = await DurableChannel.open("orders", { connection: url, connectTimeout: 5_000 }).then(
      async (channel) => {
        await channel.end();
        return new Error("opened") as Error & { code?: string };
      },
      (error: unknown) => error as Error & { code?: string },
    );
    const shown = inspect(opened, { depth: 10 });
    assert.equal(opened.code, "REDIS_CONNECT_FAILED", shown);
    assert.match(opened.message, /durable channel "orders"/);
    assert.match(opened.message, new RegExp(`127\\.0\\.0\\.1:${redis.port}`));
    assert.match(opened.message, /WRONGPASS/);
    assert.ok(!shown.includes(WRONG), `no password in the error: ${shown}`);

    const linked = await RedisLink.connect({
      bus: new Bus(),
      connection: url,
      replylessPublish: false,
      connectTimeout: 5_000,
    }).then(
      async (link) => {
        await link.close();
        return new Error("connected") as Error & { code?: string };
      },
      (error: unknown) => error as Error & { code?: string },
    );
    const linkShown = inspect(linked, { depth: 10 });
    assert.match(linked.message, /WRONGPASS/, linkShown);
    assert.ok(!linkShown.includes(WRONG), `no password in the link's error: ${linkShown}`);

    const run = await runSelf(import.meta.url, { [CHILD]: url }, (out) => out.includes("rejected"), 15_000);
    assert.equal(run.out.trim(), "rejected REDIS_CONNECT_FAILED", run.err);
    assert.equal(run.code, 0, "the child exits by itself");
    assert.ok(run.exitAfter < 1_500, `it exits within 1.5 s of the rejection (${run.exitAfter} ms)`);
  });
}
