// Red team, review of r29 (735582a, 680b6be).
//
// 1. The 200 ms disconnectTimeout r29 gives every client berrymq opens also bounds the connections ioredis
// ends itself in order to reconnect (a user's `reconnectOnError`, `failoverDetector: true`), after which it
// sends again every command still unanswered: a server slower than 200 ms to answer them (a long script,
// a fork, DEBUG SLEEP) had them run twice, where ioredis's 2,000 ms waited for their answers. Such clients
// now keep ioredis's timer.
//
// 2. Through Sentinel, a failed RedisLink.connect() says "no
// sentinel gave the master's address" whenever ioredis's error is its "All sentinels are unreachable. …".
// ioredis says that too when a sentinel did give the address and berrymq's majority check
// (sentinel-majority.ts) refused it: the message then said no sentinel gave it, which sends the reader
// to the sentinels' reachability or the master's name, while the sentinels' majority was the cause.
// Real servers: a master and one sentinel monitoring it, listed after two addresses where nothing
// listens (1 of 3 sentinels names the master, 2 needed). And the check's own text said "0 of 3 sentinels
// name it" when it decided before that sentinel's answer (the two refused ones answered first): it now
// says how many it did not wait for.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { Redis } from "ioredis";
import { isCluster, openClient, type RedisClient, type RedisConnection, whenReady } from "../../../bridges/redis/connection.js";
import { DISCONNECT_TIMEOUT } from "../../../bridges/redis/disconnect-timeout.js";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { RedisLink } from "../../../bridges/redis/redis-link.js";
import { Bus } from "../../../lib/bus.js";
import { freePort } from "../../helpers/free-port.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";

let master: RedisServer;
let sentinel: RedisServer;
let slow: RedisServer;
before(async () => {
  master = await startRedis({ own: true });
  slow = await startRedis({ own: true, args: ["--enable-debug-command", "yes"] });
  sentinel = await startRedis({ own: true, sentinelConfig: `sentinel monitor berry-master 127.0.0.1 ${master.port} 1\n` });
});
after(async () => {
  await sentinel?.stop();
  await master?.stop();
  await slow?.stop();
});

it("red team: with reconnectOnError, a command unanswered when ioredis reconnects runs once on a server slow to answer (200 ms disconnectTimeout: twice)", {
  timeout: 30_000,
}, async () => {
  const admin = new Redis(slow.port);
  const client = openClient({
    port: slow.port,
    reconnectOnError: (error: Error) => error.message.startsWith("WRONGTYPE"),
  }) as Redis;
  client.on("error", () => {});
  try {
    await admin.set("r29:text", "x");
    await admin.del("r29:counter");
    await whenReady(client);
    // The WRONGTYPE answer makes ioredis end the connection to reconnect; the server, asleep 600 ms, has
    // the next two commands in hand and answers them after, then sees the connection's end.
    const outcomes = await Promise.allSettled([
      client.lpush("r29:text", "y"),
      client.call("DEBUG", "SLEEP", "0.6"),
      client.incr("r29:counter"),
    ]);
    assert.equal(outcomes[0]?.status, "rejected");
    assert.equal(await admin.get("r29:counter"), "1", "the INCR ran once");
    assert.deepEqual(outcomes[2], { status: "fulfilled", value: 1 });
  } finally {
    client.disconnect();
    admin.disconnect();
  }
});

it("red team: a client with reconnectOnError or failoverDetector keeps ioredis's disconnectTimeout, in every form; others get berrymq's", () => {
  const port = 1;
  const opened: RedisClient[] = [];
  const open = (connection: RedisConnection): unknown => {
    const client = openClient(connection);
    client.on("error", () => {});
    opened.push(client);
    return isCluster(client) ? client.options.redisOptions?.disconnectTimeout : client.options.disconnectTimeout;
  };
  const reconnectOnError = (): boolean => false;
  const sentinels = [{ host: "127.0.0.1", port }];
  const given = new Redis({ port, lazyConnect: true, reconnectOnError });
  try {
    assert.equal(open({ port, reconnectOnError }), 2_000);
    assert.equal(open({ sentinels, name: "m", reconnectOnError }), 2_000);
    assert.equal(open({ sentinels, name: "m", failoverDetector: true }), 2_000);
    assert.equal(
      open({ cluster: [port], options: { redisOptions: { reconnectOnError } } }),
      undefined,
      "ioredis's default per node",
    );
    assert.equal(open(given), 2_000);
    assert.equal(open({ port, reconnectOnError, disconnectTimeout: 700 }), 700);
    assert.equal(open({ port }), DISCONNECT_TIMEOUT);
    assert.equal(open({ sentinels, name: "m", failoverDetector: false }), DISCONNECT_TIMEOUT);
  } finally {
    for (const client of [...opened, given]) client.disconnect();
  }
});

it("red team: through Sentinel, a master a sentinel named but the majority did not confirm is said so, not 'no sentinel gave the master's address'", {
  timeout: 30_000,
}, async () => {
  const refused = [await freePort(), await freePort()];
  const sentinels = [...refused.map((port) => ({ host: "127.0.0.1", port })), { host: "127.0.0.1", port: sentinel.port }];
  const bus = new Bus();
  bus.on("error", () => {});
  const failed = await RedisLink.connect({ bus, connection: { sentinels, name: "berry-master" }, replylessPublish: false }).then(
    async (link) => {
      await link.close();
      return undefined;
    },
    (error: unknown) => error as Error & { code?: string },
  );
  assert.ok(failed !== undefined, "connect() rejects: 1 of 3 sentinels names the master");
  assert.equal(failed.code, "REDIS_CONNECT_FAILED", failed.message);
  assert.doesNotMatch(failed.message, /no sentinel gave the master's address/, failed.message);
  assert.match(
    failed.message,
    new RegExp(
      `: a sentinel named the master, but no majority of the sentinels confirmed it \\(master 127\\.0\\.0\\.1:${master.port} of "berry-master" not confirmed: (1 of 3 sentinels name it \\(2 needed\\)|0 of 3 sentinels name it \\(2 needed\\); 1 not waited for \\(a majority was out of reach\\))\\)$`,
    ),
    failed.message,
  );
  assert.match(
    String((failed.cause as Error | undefined)?.message),
    /^All sentinels are unreachable/,
    "ioredis's error is the cause",
  );
});

it("red team: DurableChannel.open() through sentinels that refuse, past connectTimeout, says no sentinel gave the master's address, not ioredis's retrying text, and warns nothing", {
  timeout: 30_000,
}, async () => {
  const sentinels = [await freePort(), await freePort()].map((port) => ({ host: "127.0.0.1", port }));
  // Nor does it report "connection lost, reconnecting" of a channel nobody could listen to yet (a process
  // warning for each such open() before r29): the rejection says it.
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => void warnings.push(warning.message);
  process.on("warning", onWarning);
  const failed = await DurableChannel.open("r29.review", { connection: { sentinels, name: "berry-master" }, connectTimeout: 1_500 }).then(
    async (channel) => {
      await channel.end();
      return undefined;
    },
    (error: unknown) => error as Error & { code?: string },
  );
  await new Promise((resolve) => setTimeout(resolve, 100));
  process.off("warning", onWarning);
  assert.deepEqual(warnings, [], "no process warning");
  assert.ok(failed !== undefined, "open() rejects: no sentinel answers");
  assert.equal(failed.code, "CONNECT_TIMEOUT", failed.message);
  assert.doesNotMatch(failed.message, /Retrying from scratch/, failed.message);
  assert.match(failed.message, /; last error: no sentinel gave the master's address/, failed.message);
  assert.match(String((failed.cause as Error | undefined)?.message), /^All sentinels are unreachable/, "ioredis's error is the cause");
});

it("red team: DurableChannel.open() of a Redis that starts late, within connectTimeout, opens and warns nothing (the outage before it opened is not reported)", {
  timeout: 30_000,
}, async () => {
  const late = await startRedis({ own: true });
  await late.kill();
  const warnings: string[] = [];
  const onWarning = (warning: Error): void => void warnings.push(warning.message);
  process.on("warning", onWarning);
  const opening = DurableChannel.open("r29.late", { connection: late.url, connectTimeout: 15_000 });
  await new Promise((resolve) => setTimeout(resolve, 800));
  await late.restart();
  try {
    const channel = await opening;
    const errors: unknown[] = [];
    channel.on("error", (error) => void errors.push(error));
    await channel.send("hello", { to: "r29.late" });
    const hello = await channel.receive({ timeout: 5_000 });
    assert.equal(hello.content, "hello");
    await channel.close(hello);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await channel.end();
    assert.deepEqual(errors, [], "nothing reported once open");
  } finally {
    process.off("warning", onWarning);
    await late.stop();
  }
  assert.deepEqual(warnings, [], "no process warning");
});
