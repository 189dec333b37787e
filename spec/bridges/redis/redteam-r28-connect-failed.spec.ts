// Red team r28: RedisLink.connect() to an unreachable Redis rejected with ioredis's raw error (a bare
// ECONNREFUSED; on a Cluster "Failed to refresh slots cache." and through Sentinel "All sentinels are
// unreachable ... Connection is closed.", naming no server and no reason); against a Redis that accepts
// connections and answers nothing, or a Cluster startup node whose name does not resolve (ioredis retries
// without a word), it never settled. It now rejects with RedisConnectFailedError (naming the servers
// tried, with a TCP probe of each for a Cluster or the sentinels, and ioredis's error as `cause`), or
// with ConnectTimeoutError past `connectTimeout`; DurableChannel.open()'s ConnectTimeoutError names a
// Cluster's nodes the same way. The connects run in a child process (this file, with R28_CONNECT_CHILD
// set) that must exit by itself: nothing is left open.
import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { RedisLink } from "../../../bridges/redis/redis-link.js";
import { Bus } from "../../../lib/bus.js";
import { freePort } from "../../helpers/free-port.js";
import { runSelf } from "../../helpers/self-child.js";

const CHILD = "R28_CONNECT_CHILD";

type Outcome = Record<string, unknown>;

// What an open answered; `shut` closes what it opened, should it succeed.
async function outcome<T>(opening: Promise<T>, shut: (opened: T) => Promise<unknown>): Promise<Outcome> {
  const started = performance.now();
  try {
    await shut(await opening);
    return { opened: true };
  } catch (error) {
    const { code, message, name, cause, servers } = error as {
      code?: string;
      message: string;
      name: string;
      cause?: { name?: string; code?: string };
      servers?: string[];
    };
    return {
      code,
      message,
      name,
      servers,
      cause: cause && { name: cause.name, code: cause.code },
      after: Math.round(performance.now() - started),
    };
  }
}

// In the child: every connect against servers that cannot be reached, each outcome a JSON line; then the
// process must end by itself.
async function child(ports: number[]): Promise<void> {
  const [refused = 0, second = 0, hungPort = 0] = ports;
  process.on("warning", () => {});
  const link = (connection: unknown, connectTimeout?: number) =>
    outcome(
      RedisLink.connect({
        bus: new Bus(),
        connection: connection as string,
        replylessPublish: false,
        ...(connectTimeout === undefined ? {} : { connectTimeout }),
      }),
      (opened) => opened.close(),
    );
  const print = (line: Outcome): void => console.log(JSON.stringify(line));
  print({ standalone: await link(`redis://:secret-password@127.0.0.1:${refused}`) });
  print({ cluster: await link({ cluster: [{ host: "127.0.0.1", port: refused }, `127.0.0.1:${second}`] }) });
  print({ sentinel: await link({ sentinels: [{ host: "127.0.0.1", port: refused }], name: "mymaster" }) });
  // Accepts the connection and answers nothing (a hung Redis): closed at the end, once the link let go.
  const sockets = new Set<Socket>();
  const hung = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => hung.listen(hungPort, "127.0.0.1", resolve));
  print({ hung: await link(`redis://127.0.0.1:${hungPort}`, 500) });
  hung.close();
  print({ unresolved: await link({ cluster: ["nohost.invalid:7000", `127.0.0.1:${refused}`] }, 500) });
  print({
    durable: await outcome(
      DurableChannel.open("r28.boot", { connection: { cluster: [`127.0.0.1:${refused}`] }, connectTimeout: 500 }),
      (opened) => opened.end(),
    ),
  });
}

if (process.env[CHILD] !== undefined) {
  await child((process.env[CHILD] as string).split(",").map(Number));
} else {
  it("red team: RedisLink.connect() rejects with a typed error naming the servers tried and why, and leaves nothing open", {
    timeout: 60_000,
  }, async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    const [refused, second] = ports;
    // From when the child printed its last outcome it must exit by itself, within 1.5 s. Bounded: before the
    // fix the hung connect never settles, and the child never exits.
    const { out, err, code: exited, exitAfter } = await runSelf(import.meta.url, { [CHILD]: ports.join(",") }, (text) => text.includes('{"durable"'));
    const lines = out
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, Outcome>);
    const of = (key: string): Outcome => lines.find((line) => line[key] !== undefined)?.[key] ?? {};
    const standalone = of("standalone");
    assert.equal(standalone.name, "RedisConnectFailedError", JSON.stringify(standalone));
    assert.equal(standalone.code, "REDIS_CONNECT_FAILED");
    assert.match(String(standalone.message), new RegExp(`Redis at 127\\.0\\.0\\.1:${refused}: connect ECONNREFUSED`));
    assert.doesNotMatch(String(standalone.message), /secret-password/, "the error names the address, never the password");
    assert.deepEqual(standalone.servers, [`127.0.0.1:${refused}`]);
    assert.deepEqual(standalone.cause, { name: "Error", code: "ECONNREFUSED" }, "ioredis's error is the cause");

    const cluster = of("cluster");
    assert.equal(cluster.code, "REDIS_CONNECT_FAILED", JSON.stringify(cluster));
    assert.deepEqual(cluster.servers, [`127.0.0.1:${refused}`, `127.0.0.1:${second}`]);
    // ioredis says "Failed to refresh slots cache." only: the probe of each node says why.
    for (const port of [refused, second])
      assert.match(String(cluster.message), new RegExp(`127\\.0\\.0\\.1:${port}: connect ECONNREFUSED`), String(cluster.message));
    assert.equal((cluster.cause as Outcome | undefined)?.name, "ClusterAllFailedError");

    const sentinel = of("sentinel");
    assert.equal(sentinel.code, "REDIS_CONNECT_FAILED", JSON.stringify(sentinel));
    assert.match(
      String(sentinel.message),
      new RegExp(`"mymaster" of sentinel\\(s\\) 127\\.0\\.0\\.1:${refused} \\(127\\.0\\.0\\.1:${refused}: connect ECONNREFUSED`),
    );

    const hung = of("hung");
    assert.equal(hung.code, "CONNECT_TIMEOUT", JSON.stringify(hung));
    assert.match(String(hung.message), new RegExp(`127\\.0\\.0\\.1:${ports[2]} within 500 ms \\(the connectTimeout option\\)`));
    assert.ok(Number(hung.after) >= 450 && Number(hung.after) < 10_000, `rejected after ${hung.after} ms`);

    const unresolved = of("unresolved");
    assert.equal(unresolved.code, "CONNECT_TIMEOUT", JSON.stringify(unresolved));
    assert.match(
      String(unresolved.message),
      /nohost\.invalid:7000: (getaddrinfo (ENOTFOUND|EAI_AGAIN)|no TCP answer within 1000 ms)/,
    );

    const durable = of("durable");
    assert.equal(durable.code, "CONNECT_TIMEOUT", JSON.stringify(durable));
    assert.match(
      String(durable.message),
      new RegExp(
        `Redis Cluster of startup node\\(s\\) 127\\.0\\.0\\.1:${refused} \\(127\\.0\\.0\\.1:${refused}: connect ECONNREFUSED`,
      ),
    );

    assert.notEqual(exited, "hung", `the child process still ran after 30 s; it printed: ${out || "(nothing)"}`);
    assert.equal(exited, 0, err);
    // Tightened in r29 (5,000 before): ioredis's 2 s disconnect timers held the process 2–4 s.
    assert.ok(exitAfter < 1_500, `the child exited ${Math.round(exitAfter)} ms after its last connect`);
  });
}
