// Red team r29: after RedisLink.connect() rejected (RedisConnectFailedError; ConnectTimeoutError past
// connectTimeout, the link closed), a process with nothing else to do still ran 2–4 s. ioredis's connector
// disconnect() ends its socket and arms a 2 s timer (disconnectTimeout) that only the socket's next
// "close" clears: a refused socket (a Cluster's slot refresher, a sentinel lookup) had closed already, so
// the timer ran out; a server or sentinel that accepts and answers nothing never closes its side, so the
// socket stayed half-open until that timer (a hung sentinel: twice, 4 s). berrymq now gives every client
// it opens (and their sentinel lookups) a `disconnectTimeout` of 200 ms (disconnect-timeout.ts), unless
// the options give their own. And through Sentinel the
// error said ioredis's "All sentinels are unreachable. Retrying from scratch after 10ms. Last error:
// Connection is closed."; it now says no sentinel gave the master's address, ioredis's error its cause.
// Each connect runs in a child process of its own (this file, with R29_EXIT_CHILD set), which prints its
// outcome and must then exit by itself within EXIT_BOUND ms.
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, it } from "node:test";
import { Cluster, Redis } from "ioredis";
import { isCluster, openClient, type RedisClient, type RedisConnection } from "../../../bridges/redis/connection.js";
import { DISCONNECT_TIMEOUT } from "../../../bridges/redis/disconnect-timeout.js";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { RedisLink } from "../../../bridges/redis/redis-link.js";
import { Bus } from "../../../lib/bus.js";
import { freePort } from "../../helpers/free-port.js";
import { runSelf } from "../../helpers/self-child.js";

const CHILD = "R29_EXIT_CHILD";
// Exits took 2,000–4,000 ms before the fix, 40–480 ms after it (one or two 200 ms timers); the margin is
// for a loaded CI.
const EXIT_BOUND = 1_500;

type Scenario = "standalone" | "cluster" | "sentinel" | "hung" | "hungSentinel" | "durableHungSentinel";
const SCENARIOS: readonly Scenario[] = ["standalone", "cluster", "sentinel", "hung", "hungSentinel", "durableHungSentinel"];

interface Outcome {
  code?: string;
  name?: string;
  message?: string;
  servers?: string[];
  cause?: { name?: string; message?: string };
}

// In the child: one connect to `refused`/`second` (nothing listens) or `hung` (accepts, answers nothing).
async function child(scenario: Scenario, refused: number, second: number, hung: number): Promise<void> {
  process.on("warning", () => {});
  const link = (connection: unknown, connectTimeout?: number): Promise<unknown> =>
    RedisLink.connect({
      bus: new Bus(),
      connection: connection as string,
      replylessPublish: false,
      ...(connectTimeout === undefined ? {} : { connectTimeout }),
    }).then((opened) => opened.close());
  const opening = {
    standalone: () => link(`redis://:secret-password@127.0.0.1:${refused}`),
    cluster: () => link({ cluster: [{ host: "127.0.0.1", port: refused }, `127.0.0.1:${second}`] }),
    sentinel: () =>
      link({
        sentinels: [{ host: "127.0.0.1", port: refused }, { host: "127.0.0.1", port: second }],
        name: "berry-master",
        password: "master-secret",
        sentinelPassword: "sentinel-secret",
      }),
    hung: () => link(`redis://127.0.0.1:${hung}`, 500),
    hungSentinel: () => link({ sentinels: [{ host: "127.0.0.1", port: hung }], name: "mymaster" }, 500),
    durableHungSentinel: () =>
      DurableChannel.open("r29.exit", { connection: { sentinels: [{ host: "127.0.0.1", port: hung }], name: "mymaster" }, connectTimeout: 500 }).then(
        (opened) => opened.end(),
      ),
  }[scenario];
  let outcome: Outcome = {};
  try {
    await opening();
  } catch (error) {
    const { code, name, message, servers, cause } = error as Outcome & { cause?: Error };
    outcome = { code, name, message, servers, cause: cause && { name: cause.name, message: cause.message } } as Outcome;
  }
  console.log(JSON.stringify(outcome));
}

// Runs one scenario in a child: what it printed, and the ms from its printing to its exit.
async function run(scenario: Scenario, ports: readonly number[]): Promise<{ outcome: Outcome; exitAfter: number; code: number | null | "hung"; err: string }> {
  const { out, err, code, exitAfter } = await runSelf(import.meta.url, { [CHILD]: [scenario, ...ports].join(",") }, (text) => text.includes("\n"));
  const line = out.split("\n").find((text) => text.startsWith("{"));
  return { outcome: line === undefined ? {} : (JSON.parse(line) as Outcome), exitAfter, code, err };
}

const given = process.env[CHILD];
if (given !== undefined) {
  const [scenario, refused, second, hung] = given.split(",");
  await child(scenario as Scenario, Number(refused), Number(second), Number(hung));
} else {
  // Accepts connections and answers nothing, nor closes its side when the client closes its own (a
  // stopped Redis or sentinel: the kernel accepts and acknowledges).
  let hung: Server;
  const held = new Set<Socket>();
  before(async () => {
    hung = createServer({ allowHalfOpen: true }, (socket) => {
      held.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => held.delete(socket));
    });
    await new Promise<void>((resolve) => hung.listen(0, "127.0.0.1", resolve));
  });
  after(async () => {
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => hung.close(resolve));
  });

  let refused: number;
  let second: number;
  let results: Awaited<ReturnType<typeof run>>[];
  const of = (scenario: Scenario) => results[SCENARIOS.indexOf(scenario)] as (typeof results)[number];
  before(async () => {
    refused = await freePort();
    second = await freePort();
    const ports = [refused, second, (hung.address() as { port: number }).port];
    results = await Promise.all(SCENARIOS.map((scenario) => run(scenario, ports)));
  });

  it("red team: the process exits promptly once RedisLink.connect() or DurableChannel.open() rejected", () => {
    assert.equal(of("standalone").outcome.code, "REDIS_CONNECT_FAILED", JSON.stringify(of("standalone")));
    assert.equal(of("cluster").outcome.code, "REDIS_CONNECT_FAILED", JSON.stringify(of("cluster")));
    assert.equal(of("sentinel").outcome.code, "REDIS_CONNECT_FAILED", JSON.stringify(of("sentinel")));
    assert.equal(of("hung").outcome.code, "CONNECT_TIMEOUT", JSON.stringify(of("hung")));
    assert.equal(of("hungSentinel").outcome.code, "CONNECT_TIMEOUT", JSON.stringify(of("hungSentinel")));
    assert.equal(of("durableHungSentinel").outcome.code, "CONNECT_TIMEOUT", JSON.stringify(of("durableHungSentinel")));
    const exits = Object.fromEntries(results.map(({ exitAfter }, index) => [SCENARIOS[index], Math.round(exitAfter)]));
    for (const [index, { exitAfter, code, err }] of results.entries()) {
      assert.equal(code, 0, `${SCENARIOS[index]}: ${err}`);
      assert.ok(exitAfter < EXIT_BOUND, `${SCENARIOS[index]}: the child exited ${Math.round(exitAfter)} ms after its outcome (all: ${JSON.stringify(exits)})`);
    }
  });

  it("red team: through Sentinel, the error names the master and the sentinels tried and says what failed, no password", () => {
    const sentinel = of("sentinel").outcome;
    assert.equal(sentinel.name, "RedisConnectFailedError", JSON.stringify(sentinel));
    assert.equal(
      sentinel.message,
      `link RedisLink: could not connect to the master "berry-master" of sentinel(s) 127.0.0.1:${refused}, 127.0.0.1:${second} ` +
        `(127.0.0.1:${refused}: connect ECONNREFUSED 127.0.0.1:${refused}; 127.0.0.1:${second}: connect ECONNREFUSED 127.0.0.1:${second}): ` +
        "no sentinel gave the master's address",
    );
    assert.deepEqual(sentinel.servers, [`127.0.0.1:${refused}`, `127.0.0.1:${second}`]);
    assert.match(String(sentinel.cause?.message), /^All sentinels are unreachable/, "ioredis's error is the cause");
    for (const [index, { outcome }] of results.entries())
      assert.doesNotMatch(JSON.stringify(outcome), /secret/, `${SCENARIOS[index]}: no password in the error`);
  });
}

if (given === undefined) {
  it("berrymq's disconnectTimeout on every client it opens, unless the options give their own", async () => {
    const port = await freePort();
    const opened: RedisClient[] = [];
    const open = (connection: RedisConnection): RedisClient => {
      const client = openClient(connection);
      client.on("error", () => {});
      opened.push(client);
      return client;
    };
    const timeoutOf = (client: RedisClient): unknown =>
      isCluster(client) ? client.options.redisOptions?.disconnectTimeout : client.options.disconnectTimeout;
    const own = { disconnectTimeout: 3_000 };
    const sentinels = [{ host: "127.0.0.1", port }];
    const givenClients = [
      new Redis({ port, lazyConnect: true }),
      new Redis({ port, lazyConnect: true, ...own }),
      new Cluster([port], { lazyConnect: true }),
      new Cluster([port], { lazyConnect: true, redisOptions: own }),
    ] as const;
    try {
      assert.equal(timeoutOf(open(`redis://127.0.0.1:${port}`)), DISCONNECT_TIMEOUT);
      // ioredis reads a URL's query as strings.
      assert.equal(timeoutOf(open(`redis://127.0.0.1:${port}?disconnectTimeout=3000`)), "3000");
      assert.equal(timeoutOf(open({ port })), DISCONNECT_TIMEOUT);
      assert.equal(timeoutOf(open({ port, ...own })), 3_000);
      assert.equal(timeoutOf(open({ sentinels, name: "mymaster" })), DISCONNECT_TIMEOUT);
      assert.equal(timeoutOf(open({ sentinels, name: "mymaster", ...own })), 3_000);
      assert.equal(timeoutOf(open({ cluster: [port] })), DISCONNECT_TIMEOUT);
      assert.equal(timeoutOf(open({ cluster: [port], options: { redisOptions: own } })), 3_000);
      // A given client's options hold ioredis's default (2,000) when none was given.
      assert.equal(timeoutOf(open(givenClients[0])), DISCONNECT_TIMEOUT);
      assert.equal(timeoutOf(open(givenClients[1])), 3_000);
      assert.equal(timeoutOf(open(givenClients[2])), DISCONNECT_TIMEOUT);
      assert.equal(timeoutOf(open(givenClients[3])), 3_000);
    } finally {
      for (const client of [...opened, ...givenClients]) client.disconnect();
    }
  });
}
