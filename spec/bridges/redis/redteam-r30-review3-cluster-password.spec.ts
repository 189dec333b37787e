// Red team r30 review 3: a Redis Cluster whose nodes require a password. r30 blanked the password ioredis
// attaches to a refused AUTH/HELLO (`command.args`) on a client's "error" events and on the `cause` chain;
// a Cluster carries it elsewhere. A wrong password at open: ioredis's ClusterAllFailedError holds the
// node's refusal as `lastNodeError`, which stayed in clear under ConnectTimeoutError (open()) and
// RedisConnectFailedError (connect()). A password rotated on the servers while open: each node's refusal
// comes as the Cluster's "node error" (not "error"), and the connection-lost report and every command that
// failed behind it (a sweep's RedisCommandError) carried the old password in clear. And a wrong password
// at open() waited the whole connectTimeout (for ever with Infinity) where a standalone Redis fails at once.
import assert from "node:assert/strict";
import { it } from "node:test";
import { inspect } from "node:util";
import { Redis } from "ioredis";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { RedisLink } from "../../../bridges/redis/redis-link.js";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import { startCluster } from "../../helpers/redis-cluster.js";
import { withClient } from "../../helpers/redis-probe.js";
import { waitFor } from "../../helpers/wait-for.js";

const OLD = "0ld-Passw0rd-r3";
const NEW = "n3w-Passw0rd-r3";

// Runs `use` on a one-shot client of a node that requires `password`.
async function asNode(port: number, password: string, use: (client: Redis) => Promise<unknown>): Promise<void> {
  const client = new Redis({ host: "127.0.0.1", port, password, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  client.on("error", () => {});
  try {
    await client.connect();
    await use(client);
  } finally {
    client.disconnect();
  }
}

it("red team: a Cluster's refused password is never in an error (wrong at open, or rotated while open)", { timeout: 60_000 }, async (t) => {
  const cluster = await startCluster();
  t.after(() => cluster.stop());
  for (const node of cluster.nodes) await withClient(node.port, (client) => client.call("CONFIG", "SET", "requirepass", OLD));
  const nodes = cluster.startupNodes;

  const wrong = { cluster: nodes, options: { redisOptions: { password: "wr0ng-one-r3" } } };
  const started = performance.now();
  const opened = await DurableChannel.open("orders", { connection: wrong, prefix: "{r3pw}:", connectTimeout: 8_000 }).then(
    async (channel) => {
      await channel.end();
      return new Error("opened") as Error & { code?: string };
    },
    (error: unknown) => error as Error & { code?: string },
  );
  const shown = inspect(opened, { depth: 20 });
  assert.ok(!shown.includes("wr0ng-one-r3"), `no password in open()'s error: ${shown}`);
  // As on a standalone Redis: at once, RedisConnectFailedError naming WRONGPASS (before: ConnectTimeoutError
  // after the whole connectTimeout, "Failed to refresh slots cache.").
  assert.equal(opened.code, "REDIS_CONNECT_FAILED", shown);
  assert.match(opened.message, /durable channel "orders"/);
  assert.match(opened.message, /WRONGPASS/);
  assert.ok(performance.now() - started < 5_000, `rejected at once (${Math.round(performance.now() - started)} ms)`);
  const linked = await RedisLink.connect({ bus: new Bus(), connection: wrong, replylessPublish: false, connectTimeout: 3_000 }).then(
    async (link) => {
      await link.close();
      return new Error("connected");
    },
    (error: unknown) => error,
  );
  const linkShown = inspect(linked, { depth: 20 });
  assert.match(linkShown, /WRONGPASS/);
  assert.ok(!linkShown.includes("wr0ng-one-r3"), `no password in connect()'s error: ${linkShown}`);

  // A queue reports its connection's failures on its `error` event.
  const queue = new RedisQueue("jobs", { connection: wrong });
  const queueErrors: unknown[] = [];
  queue.on("error", (error) => void queueErrors.push(error));
  t.after(() => queue.close());
  await waitFor(() => queueErrors.length > 0, "the queue's report", 10_000);
  const queueShown = inspect(queueErrors, { depth: 20 });
  assert.ok(!queueShown.includes("wr0ng-one-r3"), `no password in the queue's reports: ${queueShown}`);
  await queue.close();

  const channel = await DurableChannel.open("orders", {
    connection: { cluster: nodes, options: { redisOptions: { password: OLD } } },
    prefix: "{r3pw}:",
  });
  const reports: unknown[] = [];
  channel.on("error", (error) => void reports.push(error));
  t.after(async () => {
    for (const node of cluster.nodes) await asNode(node.port, NEW, (client) => client.call("CONFIG", "SET", "requirepass", OLD)).catch(() => {});
    await channel.end().catch(() => {});
  });
  // Rotated: the channel's connections are cut, and every reconnection is refused with the old password.
  for (const node of cluster.nodes)
    await asNode(node.port, OLD, async (client) => {
      await client.call("CONFIG", "SET", "requirepass", NEW);
      await client.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
    });
  await waitFor(() => inspect(reports, { depth: 20 }).includes("WRONGPASS"), "a report of the refusal", 10_000);
  const reported = inspect(reports, { depth: 20 });
  assert.ok(!reported.includes(OLD), `no password in the channel's reports: ${reported}`);
});
