// A Sentinel group where a crashed master, restarted, answers as a master while one sentinel still names
// it: a client that connects then must not write there. Its writes would be acknowledged, then lost when
// the other sentinels turn the old master into a replica of the promoted one (it resyncs, emptied).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Redis, type RedisOptions, SentinelConnector } from "ioredis";
import { closeClient, openClient, type RedisConnection } from "../../../bridges/redis/connection.js";
import { confirmMaster, MajoritySentinelConnector } from "../../../bridges/redis/sentinel-majority.js";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { RedisLink } from "../../../bridges/redis/redis-link.js";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import { withClient } from "../../helpers/redis-probe.js";
import { QUICK_HEALING, type RedisSentinelGroup, startSentinelGroup } from "../../helpers/redis-sentinel.js";
import type { RedisServer } from "../../helpers/redis-server.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

// down-after well above the time two sentinels stay stopped (below), so that on waking they do not
// take a live master for down.
const DOWN_AFTER = 3_000;
// How long the window is watched: a client without the check is on the old master within ~50 ms.
const WINDOW = 500;

let group: RedisSentinelGroup;
before(async () => {
  // Each window's failover and healing in seconds (see QUICK_HEALING): the specs assert none of Sentinel's
  // periods, but what berrymq's clients do while one sentinel names the old master (as long a window).
  group = await startSentinelGroup({ downAfter: DOWN_AFTER, ...QUICK_HEALING });
});
after(async () => {
  await group?.stop();
});

// The out-of-date sentinel first, as a client that asks it first; a stopped sentinel accepts the TCP
// connection and never answers, so lookups give up on it after 500 ms.
const connection = (): RedisConnection => ({ sentinels: [...group.sentinelAddresses], name: group.name, sentinelCommandTimeout: 500 });

/** One command to a sentinel, given up after 500 ms (a stopped sentinel never answers). */
async function askSentinel(sentinel: RedisServer, ...args: string[]): Promise<unknown> {
  const client = new Redis({ host: "127.0.0.1", port: sentinel.port, lazyConnect: true, retryStrategy: () => null, commandTimeout: 500 });
  client.on("error", () => {});
  try {
    await client.connect();
    return await client.call("SENTINEL", ...args);
  } finally {
    client.disconnect();
  }
}

async function namedBy(sentinel: RedisServer): Promise<number | undefined> {
  const address = (await askSentinel(sentinel, "GET-MASTER-ADDR-BY-NAME", group.name).catch(() => null)) as [string, string] | null;
  return address === null ? undefined : Number(address[1]);
}

/** Names of the berrymq connections on a server. */
async function berrymqClients(server: RedisServer): Promise<string[]> {
  return withClient(server.port, async (client) => [...String(await client.client("LIST")).matchAll(/\bname=(berrymq-\S+)/g)].map((m) => String(m[1])));
}

/**
 * Holds the stale-master window open and runs `during` in it: SIGKILLs the master, waits until every
 * sentinel names the promoted replica, stops (SIGSTOP) the second and third sentinel, makes the first
 * name the old master again (REMOVE + MONITOR: what a sentinel that was down during the failover comes
 * back with), and restarts the old master, a master again and empty. The first sentinel is then the only
 * one answering, and names it. Afterwards resumes the other two, which turn the old master into a replica
 * (and tell the first one), and waits until the group is healthy. Resolves to the names of the berrymq
 * connections seen on the old master during the window (`window` ms after `during`).
 */
async function staleWindow(during: (promoted: RedisServer) => Promise<void>, window = WINDOW): Promise<string[]> {
  const old = await group.master();
  const [stale, ...others] = group.sentinels as [RedisServer, RedisServer, RedisServer];
  await old.kill();
  const promoted = group.servers.find((server) => server !== old) as RedisServer;
  for (let tries = 0; ; tries++) {
    const named = await Promise.all(group.sentinels.map(namedBy));
    if (named.every((port) => port === promoted.port)) break;
    assert.ok(tries < 300, `every sentinel names the promoted replica: ${named.join(", ")}`);
    await sleep(100);
  }
  const seen = new Set<string>();
  for (const sentinel of others) process.kill(sentinel.pid as number, "SIGSTOP");
  try {
    await askSentinel(stale, "REMOVE", group.name);
    await askSentinel(stale, "MONITOR", group.name, "127.0.0.1", String(old.port), "2");
    await askSentinel(stale, "SET", group.name, "down-after-milliseconds", String(DOWN_AFTER), "failover-timeout", "10000");
    await old.restart();
    // The first data node started as the master, the second as its replica (`--replicaof`): either comes
    // back with what its own configuration says, so the second is told to be a master, as the first is.
    await withClient(old.port, async (client) => {
      await client.call("REPLICAOF", "NO", "ONE");
      assert.equal(((await client.call("ROLE")) as unknown[])[0], "master", "the restarted old master says it is a master");
    });
    assert.equal(await namedBy(stale), old.port, "the first sentinel names the restarted old master");
    await during(promoted);
    const until = Date.now() + window;
    while (Date.now() < until) {
      for (const name of await berrymqClients(old)) seen.add(name);
      await sleep(50);
    }
    assert.equal(await namedBy(stale), old.port, "the window held: the first sentinel still names the old master");
  } finally {
    for (const sentinel of others) process.kill(sentinel.pid as number, "SIGCONT");
  }
  // The others turn the old master into a replica once it has reported itself a master for 4 publish
  // periods (2 s here).
  await group.waitHealthy(60_000);
  assert.equal((await group.master()).port, promoted.port, "the promoted replica is still the master");
  return [...seen];
}

describe("redis sentinel: a restarted old master named by an out-of-date sentinel", () => {
  it("a master is confirmed by more than half of the listed sentinels, each address once; one that does not answer counts against", async (t) => {
    const master = await group.master();
    const replica = group.servers.find((server) => server !== master) as RedisServer;
    const options = { sentinels: [...group.sentinelAddresses], name: group.name, sentinelCommandTimeout: 500 };
    const at = (server: RedisServer) => ({ host: "127.0.0.1", port: server.port });
    await confirmMaster(options, at(master));
    await assert.rejects(confirmMaster(options, at(replica)), /not confirmed: 0 of 3 sentinels name it \(2 needed\); others name 127\.0\.0\.1:\d+/);
    const first = group.sentinelAddresses[0] as { host: string; port: number };
    // Listed three times, one sentinel is still one vote of one.
    await confirmMaster({ ...options, sentinels: [first, first, first] }, at(master));
    for (const sentinel of group.sentinels.slice(1)) process.kill(sentinel.pid as number, "SIGSTOP");
    t.after(async () => {
      for (const sentinel of group.sentinels.slice(1)) process.kill(sentinel.pid as number, "SIGCONT");
      await group.waitHealthy();
    });
    await assert.rejects(confirmMaster(options, at(master)), /not confirmed: 1 of 3 sentinels name it \(2 needed\)/);
  });

  it("every Sentinel client berrymq opens has the check, copies of a client passed in too, unless the options bring a Connector", async () => {
    const sentinels = [...group.sentinelAddresses];
    const given = new Redis({ sentinels, name: group.name, lazyConnect: true });
    const opened = [
      openClient({ sentinels, name: group.name }),
      openClient(given),
      // ioredis types its own SentinelConnector as no ConnectorConstructor (its options parameter).
      openClient({ sentinels, name: group.name, Connector: SentinelConnector as unknown as RedisOptions["Connector"] }),
    ] as Redis[];
    try {
      assert.deepEqual(
        opened.map((client) => client.options.Connector),
        [MajoritySentinelConnector, MajoritySentinelConnector, SentinelConnector],
      );
      await Promise.all(opened.map((client) => client.ping()));
    } finally {
      await Promise.all(opened.map(closeClient));
      given.disconnect();
    }
  });

  it("a durable channel opened then connects to no unconfirmed master: its send waits, and is kept", async (t) => {
    const prefix = `stale-${randomUUID()}:{durable}:`;
    let channel: DurableChannel | undefined;
    let sending: Promise<unknown> | undefined;
    t.after(() => channel?.end());
    const onOld = await staleWindow(async () => {
      channel = new DurableChannel("stale", { connection: connection(), prefix });
      sending = channel.send("sent in the window", { to: "stale" });
      sending.catch(() => {});
    });
    await sending;
    const got = await (channel as DurableChannel).receive({ timeout: 5_000 }).catch((error: Error) => error.message);
    assert.equal(typeof got === "string" ? got : got.content, "sent in the window", "the send is on the master");
    assert.deepEqual(onOld, [], "no connection of the channel on the old master");
  });

  it("a durable channel whose connections are cut then reconnects to no unconfirmed master: its send waits, and is kept", async (t) => {
    const prefix = `stale-r-${randomUUID()}:{durable}:`;
    // Lookups give up on a stopped sentinel sooner: a reconnection reaches the first sentinel within ~0.5 s
    // wherever ioredis's walk over its list stands.
    const channel = new DurableChannel("stale-r", { connection: { ...(connection() as object), sentinelCommandTimeout: 200 }, prefix });
    t.after(() => channel.end());
    await channel.send("before", { to: "stale-r", durability: { replicas: 1, timeout: 5_000 } });
    let sending: Promise<unknown> | undefined;
    const onOld = await staleWindow(async (promoted) => {
      await withClient(promoted.port, async (client) => {
        const list = String(await client.client("LIST"));
        for (const match of list.matchAll(/\bid=(\d+) .*\bname=berrymq-durable(?:-block)?:stale-r\//g)) await client.client("KILL", "ID", String(match[1]));
      });
      sending = channel.send("sent in the window", { to: "stale-r" });
      sending.catch(() => {});
    }, 1_000);
    await sending;
    const got = [await channel.receive({ timeout: 5_000 }), await channel.receive({ timeout: 5_000 }).catch((error: Error) => error)];
    assert.deepEqual(
      got.map((message) => (message instanceof Error ? message.message : message.content)),
      ["before", "sent in the window"],
      "both sends are on the master",
    );
    assert.deepEqual(onOld, [], "no connection of the channel on the old master");
  });

  it("a redis queue opened then pushes to no unconfirmed master: the message is kept", async (t) => {
    const prefix = `stale-q-${randomUUID()}:`;
    const bus = new Bus();
    let queue: RedisQueue | undefined;
    t.after(async () => {
      await queue?.close();
      bus.close();
    });
    const onOld = await staleWindow(async () => {
      queue = new RedisQueue("job:*", { bus, connection: connection(), prefix });
      queue.on("error", () => {});
      bus.twitter("job:window", 1);
    });
    const opened = queue as RedisQueue;
    await waitFor(() => opened.stats.pushed + opened.stats.failed === 1, "the push settled", 30_000);
    assert.equal(opened.stats.pushed, 1, "pushed, not failed");
    const got = await opened.get({ timeout: 5_000 }).catch((error: Error) => error.message);
    assert.equal(typeof got === "string" ? got : got.id, "job:window", "the pushed message is on the master");
    assert.deepEqual(onOld, [], "no connection of the queue on the old master");
  });

  it("a redis link connecting then subscribes and publishes on no unconfirmed master", async (t) => {
    const prefix = `stale-l-${randomUUID()}:`;
    const [near, far] = [new Bus(), new Bus()];
    const links: RedisLink[] = [];
    t.after(async () => {
      await Promise.all(links.map((link) => link.close()));
      near.close();
      far.close();
    });
    let connecting: Promise<RedisLink> | undefined;
    const onOld = await staleWindow(async () => {
      connecting = RedisLink.connect({ bus: near, connection: connection(), prefix });
      void connecting.then((link) => links.push(link), () => {});
    });
    assert.deepEqual(onOld, [], "no connection of the link on the old master");
    // Connecting while no master is confirmed may fail (as while none is reachable); once one is, it works.
    await (connecting as Promise<RedisLink>).catch(async () => {
      links.push(await RedisLink.connect({ bus: near, connection: connection(), prefix }));
    });
    links.push(await RedisLink.connect({ bus: far, connection: connection(), prefix }));
    const got: string[] = [];
    far.follow("*:*", (m) => void got.push(m.id));
    near.twitter("link:after");
    await waitFor(() => got.length === 1, "a message through the master");
  });
});
