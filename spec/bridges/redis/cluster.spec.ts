// Redis Cluster (6 nodes: 3 masters, 3 replicas), started once for this file: the shared shape suite,
// Cluster-specific correctness, and a real failover.
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { Cluster } from "ioredis";
import type { RedisConnection } from "../../../bridges/redis/connection.js";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { hashSlot, prefixInSlots } from "../../../bridges/redis/hash-slot.js";
import { RedisLink } from "../../../bridges/redis/redis-link.js";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import { type RedisCluster, startCluster } from "../../helpers/redis-cluster.js";
import { withClient } from "../../helpers/redis-probe.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { failoverSuite, type Shape, shapeSuite } from "./shape-suite.js";

let cluster: RedisCluster;
before(async () => {
  cluster = await startCluster();
});
after(async () => {
  await cluster?.stop();
});

const connection = (): RedisConnection => ({ cluster: [...cluster.startupNodes] });

const shape: Shape = {
  name: "cluster",
  connection,
  argument: () => JSON.stringify(connection()),
  killMaster: async (key) => cluster.fail(await cluster.masterOf(key)),
  killServerOf: async (clientName) => cluster.fail(await cluster.nodeWithClient(clientName)),
};

shapeSuite(shape);

describe("redis cluster: what users configure", () => {
  it("computes the hash slot Redis does, and prefixInSlots puts 3 prefixes on 3 masters (DurableChannel.node() tells)", async () => {
    const port = cluster.startupNodes[0]?.port as number;
    for (const key of ["{durable}", "berrymq:{durable}:in:x", "a{}b", "plain", "x{y}z{w}", "ünïcode{ü}"]) {
      assert.equal(hashSlot(key), await withClient(port, (client) => client.cluster("KEYSLOT", key)), key);
    }
    const ranges: [number, number][] = [
      [0, 5460],
      [5461, 10922],
      [10923, 16383],
    ];
    const prefixes = ranges.map(([from, to], i) => prefixInSlots(`orders${i}`, from, to));
    const channels = await Promise.all(prefixes.map((prefix) => DurableChannel.open("where", { connection: connection(), prefix })));
    const nodes = await Promise.all(channels.map((channel) => channel.node()));
    assert.equal(new Set(nodes).size, 3, `three masters: ${nodes.join(", ")}`);
    for (const channel of channels) assert.ok(channel.slot >= 0 && channel.slot < 16384);
    await Promise.all(channels.map((channel) => channel.end()));
    assert.throws(() => prefixInSlots("x", 10, 5), /invalid slots/);
  });

  it("end() and close() send CLIENT UNBLOCK only to the node that serves the key (never to unrelated clients elsewhere)", async () => {
    const prefix = `unblock-${randomUUID()}:{unblock}:`;
    const owner = await cluster.masterOf(prefix);
    const live = cluster.nodes.filter((node) => node.pid !== undefined);
    await Promise.all(live.map((node) => withClient(node.port, (client) => client.config("RESETSTAT"))));
    const channels = await Promise.all(Array.from({ length: 12 }, (_, i) => DurableChannel.open(`unblock-${i}`, { connection: connection(), prefix })));
    const queues = Array.from({ length: 4 }, () => new RedisQueue("unblock:*", { connection: connection(), prefix, feed: false }));
    const pending = [...channels.map((channel) => channel.receive().catch(() => "ended")), ...queues.map((queue) => queue.get().catch(() => "closed"))];
    await sleep(300);
    await Promise.all([...channels.map((channel) => channel.end()), ...queues.map((queue) => queue.close())]);
    await Promise.all(pending);
    const unblocks = await Promise.all(
      live.map(async (node) => {
        const stats = await withClient(node.port, (client) => client.info("commandstats"));
        return [node.port, Number(/cmdstat_client\|unblock:calls=(\d+)/.exec(stats)?.[1] ?? 0)] as const;
      }),
    );
    const elsewhere = unblocks.filter(([port]) => port !== owner.port).reduce((sum, [, calls]) => sum + calls, 0);
    const onOwner = unblocks.find(([port]) => port === owner.port)?.[1] ?? 0;
    assert.equal(elsewhere, 0, `CLIENT UNBLOCK sent to other nodes: ${JSON.stringify(unblocks)}`);
    assert.ok(onOwner >= 1 && onOwner <= 64, `CLIENT UNBLOCK on the key's node: ${onOwner}`);
  });

  it("refuses prefixes whose effective hash tag is empty, which would scatter keys over slots", () => {
    for (const prefix of ["plain:", "app:{}{x}:", "app:{}:", "app:{open:", "app:}{"]) {
      assert.throws(() => new DurableChannel("x", { connection: connection(), prefix }), /invalid prefix .*hash tag/, prefix);
    }
  });

  it("takes a client created with lazyConnect: true, and a Cluster client from another copy of ioredis", async () => {
    const lazy = new Cluster([...cluster.startupNodes], { lazyConnect: true });
    const dir = mkdtempSync(join(tmpdir(), "berrymq-ioredis-copy-"));
    try {
      // A second copy of ioredis (as a dependency of another package would bring): its classes differ.
      const modules = join(process.cwd(), "node_modules");
      mkdirSync(join(dir, "node_modules"));
      for (const entry of readdirSync(modules)) {
        if (entry === "ioredis") cpSync(join(modules, entry), join(dir, "node_modules", entry), { recursive: true });
        else symlinkSync(join(modules, entry), join(dir, "node_modules", entry));
      }
      const copy = (await import(pathToFileURL(join(dir, "node_modules/ioredis/built/index.js")).href)) as { Cluster: typeof Cluster };
      assert.notEqual(copy.Cluster, Cluster, "a distinct copy");
      const foreign = new copy.Cluster([...cluster.startupNodes], { lazyConnect: true });
      for (const given of [lazy, foreign]) {
        const prefix = `lazy-${randomUUID()}:{lazy}:`;
        const channel = await DurableChannel.open("lazy", { connection: given as Cluster, prefix });
        const sent = await channel.send("hi", { to: "lazy" });
        assert.equal((await channel.receive({ timeout: 5_000 })).id, sent.id);
        assert.match(await channel.node(), /^127\.0\.0\.1:\d+$/);
        await channel.end();
        assert.equal(given.status, "wait", "the given client is only copied, never connected");
      }
      foreign.disconnect();
    } finally {
      lazy.disconnect();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a RedisLink's PSUBSCRIBE set follows subscribe/unsubscribe", async () => {
    const prefix = `sub-${randomUUID()}:`;
    const a = new Bus();
    const b = new Bus();
    const la = await RedisLink.connect({ bus: a, connection: connection(), prefix });
    const lb = await RedisLink.connect({ bus: b, connection: connection(), prefix, importFilters: [] });
    const got: string[] = [];
    b.follow("*:*", (m) => void got.push(m.id));
    // With no import filters the link still listens for answers to its own requests (berrymq-reply:*).
    const base = [...lb.patterns];
    assert.ok(base.every((pattern) => !pattern.includes("orders")));
    await lb.subscribe("orders:*");
    a.twitter("orders:new");
    a.twitter("mail:new");
    await waitFor(() => got.length === 1, "orders:new");
    await lb.unsubscribe("orders:*");
    assert.deepEqual(lb.patterns, base);
    a.twitter("orders:late");
    await lb.subscribe("mail:new");
    a.twitter("mail:new");
    await waitFor(() => got.length === 2, "mail:new");
    assert.deepEqual(got, ["orders:new", "mail:new"]);
    await la.close();
    await lb.close();
  });
});

failoverSuite(shape);

