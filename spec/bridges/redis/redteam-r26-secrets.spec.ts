// Review r26: an invalid Redis connection is named in its InvalidArgumentError, and so was its password
// (`valkey://user:pw@host`, `?password=`, a URL inside a `connection.cluster` object). Now never.
import assert from "node:assert/strict";
import { it } from "node:test";
import { openClient } from "../../../bridges/redis/connection.js";
import { InvalidArgumentError } from "../../../lib/errors.js";
import type { RedisConnection } from "../../../bridges/redis/connection.js";

const SECRET = "S3cr3t-pw";

it("an invalid connection is named without the password it holds", () => {
  const connections: unknown[] = [
    `valkey://user:${SECRET}@10.0.0.1:6379`,
    `redis:/user:${SECRET}@h`,
    ` redis://u:${SECRET}@h`,
    `//u:${SECRET}@h`,
    `reddis://u:p@${SECRET}@h`,
    `reddis://h:6379/0?password=${SECRET}`,
    `h:6379/0?db=1&password=${SECRET}`,
    { cluster: `redis://u:${SECRET}@h:1` },
    { cluster: { url: `redis://u:${SECRET}@h` } },
    { cluster: { password: SECRET, host: "h" } },
    // Final review r26: a password holding `/`, `#`, `?` or a space; other keys naming a secret; numbers.
    `redis:/user:${SECRET}/+Base64==@host:6379`,
    `REDIS://user:pa#${SECRET}@host`,
    `redis//:pa?${SECRET}@host`,
    `redis:/user:pa ${SECRET}@host`,
    { cluster: { redisOptions: { password: "x", sentinelPassword: SECRET } } },
    { cluster: { host: "h", password: 1234, token: SECRET } },
  ];
  for (const connection of connections) {
    assert.throws(
      () => openClient(connection as RedisConnection),
      (error: unknown) => {
        assert.ok(error instanceof InvalidArgumentError, String(error));
        assert.ok(!error.message.includes(SECRET), error.message);
        assert.match(error.message, /\*\*\*/);
        return true;
      },
    );
  }
});

it("masks in time linear in the connection's length (a pattern that backtracked took minutes on 20 KB)", () => {
  // Not a speed measure: a bound a hundred times what it takes, so that a backtracking pattern fails.
  for (const hostile of [
    ":".repeat(100_000),
    "a:".repeat(50_000),
    "?pass".repeat(20_000),
    "@".repeat(100_000),
    `?${"&user".repeat(20_000)}`,
  ]) {
    const started = performance.now();
    assert.throws(() => openClient(hostile as RedisConnection), InvalidArgumentError);
    assert.ok(
      performance.now() - started < 2_000,
      `${hostile.slice(0, 10)}… took ${(performance.now() - started).toFixed(0)} ms`,
    );
  }
});
