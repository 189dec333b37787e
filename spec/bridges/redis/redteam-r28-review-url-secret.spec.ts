// Red team r28 review: a redis:// URL that Node's URL parser refuses (a password holding "/", "#" or "?"
// not percent-encoded) threw, from `RedisLink.connect()`, `new RedisLink()`, a queue or a durable channel
// (connection.ts, openClient), Node's own TypeError "Invalid URL" with the whole URL as its `input`
// property: the password went to any log that printed the error. It is now an InvalidArgumentError naming
// the URL without its credentials (as every other refused connection), and the same password
// percent-encoded connects.
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { after, before, it } from "node:test";
import { RedisLink } from "../../../bridges/redis/redis-link.js";
import { Bus } from "../../../lib/bus.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { withClient } from "../../helpers/redis-probe.js";

let redis: RedisServer;
before(async () => {
  redis = await startRedis({ own: true });
  await withClient(redis.port, (c) => c.call("CONFIG", "SET", "requirepass", "pa/ss#w?rd"));
});
after(async () => {
  await redis?.stop();
});

it("red team: a URL Node cannot parse is refused without its password anywhere in the error", { timeout: 20_000 }, async () => {
  for (const password of ["pa/ss#w?rd", "pa/ssword", "pass#word"]) {
    const url = `redis://:${password}@127.0.0.1:${redis.port}`;
    const error = await RedisLink.connect({
      bus: new Bus(),
      connection: url,
      replylessPublish: false,
      connectTimeout: 5_000,
    }).then(
      async (link) => {
        await link.close();
        assert.fail(`${password}: connected`);
      },
      (failed: unknown) => failed as Error & { code?: string },
    );
    const shown = inspect(error, { depth: 10 });
    assert.equal(error.code, "INVALID_ARGUMENT", shown.split("\n")[0]);
    assert.ok(!shown.includes(password) && !shown.includes("pa/"), shown);
    assert.match(error.message, new RegExp(`redis://\\*\\*\\*@127\\.0\\.0\\.1:${redis.port}`));
  }
  const link = await RedisLink.connect({
    bus: new Bus(),
    connection: `redis://:${encodeURIComponent("pa/ss#w?rd")}@127.0.0.1:${redis.port}`,
    replylessPublish: false,
  });
  await link.close();
});
