// Red team r28 review: RedisLink.connect() through Sentinel, whose sentinel accepts connections and
// answers nothing (a stopped process: the kernel still accepts), rejected with ConnectTimeoutError past
// `connectTimeout` and closed the link, but ioredis's lookup asked that sentinel over a connection of its
// own with no command timeout (unless `sentinelCommandTimeout`), which closing the client does not close:
// its sockets stayed open and the process never exited by itself. The Sentinel connector
// (sentinel-majority.ts) now closes the connections to sentinels on their way when the client closes.
// The connect runs in a child process (this file, with R28_HUNG_SENTINEL set) that must exit by itself.
import assert from "node:assert/strict";
import { it } from "node:test";
import { RedisLink } from "../../../bridges/redis/redis-link.js";
import { Bus } from "../../../lib/bus.js";
import { hungRedis } from "../../helpers/hung-redis.js";
import { runSelf } from "../../helpers/self-child.js";

const CHILD = "R28_HUNG_SENTINEL";

if (process.env[CHILD] !== undefined) {
  const port = Number(process.env[CHILD]);
  try {
    await RedisLink.connect({
      bus: new Bus(),
      connection: { sentinels: [{ host: "127.0.0.1", port }], name: "mymaster" },
      replylessPublish: false,
      connectTimeout: 1_000,
    });
    console.log("opened");
  } catch (error) {
    console.log((error as { code?: string }).code);
  }
} else {
  const stopped = hungRedis();

  it("red team: connect() through a sentinel that answers nothing rejects, and the process exits by itself", {
    timeout: 40_000,
  }, async () => {
    const { out, err, code: exited, exitAfter } = await runSelf(import.meta.url, { [CHILD]: String(stopped().port) }, (text) => text.length > 0, 25_000);
    assert.equal(out.trim(), "CONNECT_TIMEOUT", err);
    assert.notEqual(exited, "hung", "the child process still ran 25 s after it started (sockets to the sentinel left open)");
    assert.equal(exited, 0, err);
    // Tightened in r29 (10,000 before): ioredis's 2 s disconnect timers held the process another 4 s.
    assert.ok(exitAfter < 1_500, `the child exited ${Math.round(exitAfter)} ms after the rejection`);
  });
}
