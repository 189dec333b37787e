// RedisLink's default `replylessPublish: "auto"`: the replyless socket where Redis takes CLIENT REPLY,
// else the ioredis client, decided at connect or at any reconnection without losing a message. Each test
// owns its redis-servers (some are stopped, switched or have their ACLs changed).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { Redis } from "ioredis";
import type { RedisConnection } from "../../../bridges/redis/connection.js";
import { RedisLink, ReplylessFallbackError, ReplylessRefusedError } from "../../../bridges/redis/index.js";
import { SYNC_TIMEOUT } from "../../../bridges/redis/replyless-publisher.js";
import { Bus, within } from "../../../lib/index.js";
import type { BerryError } from "../../../lib/errors.js";
import { clientsNamed } from "../../helpers/redis-clients.js";
import { startCluster } from "../../helpers/redis-cluster.js";
import { startRedis } from "../../helpers/redis-server.js";
import { tcpGate } from "../../helpers/tcp-gate.js";
import { waitFor } from "../../helpers/wait-for.js";

/** A Redis that knows no CLIENT command (as managed services that rename or forbid it). */
const RENAMED_CLIENT = ["--rename-command", "CLIENT", ""];
/** A Redis whose user alice (password s3cret) may run anything but CLIENT. */
const NO_CLIENT_USER = ["--user", "alice", "on", ">s3cret", "~*", "&*", "+@all", "-client"];

/** The fallback reports a bus heard (a link reports to its bus until the link has listeners of its own). */
function fallbackReports(bus: Bus): BerryError[] {
  const reports: BerryError[] = [];
  bus.on("error", (error) => {
    if (error.code !== "REDIS_REPLYLESS_FALLBACK") return;
    assert.ok(error instanceof ReplylessFallbackError, "exported by berrymq/redis");
    reports.push(error);
  });
  return reports;
}

/** A sender link (default options) and a receiver link importing `n:*`; `got` collects the n:* args. */
async function senderAndReceiver(to: RedisConnection, from: RedisConnection) {
  const prefix = `rf-${randomUUID()}:`;
  const sender = new Bus();
  const receiver = new Bus();
  const reports = fallbackReports(sender);
  receiver.on("error", () => {});
  const out = await RedisLink.connect({ bus: sender, connection: to, prefix, retryDelay: { initial: 20, max: 100 } });
  const into = await RedisLink.connect({ bus: receiver, connection: from, prefix, importFilters: ["n:*"] });
  out.on("error", (error) => sender.report(error));
  into.on("error", () => {});
  const got: number[] = [];
  receiver.follow("n:*", (m) => void got.push(m.args[0] as number));
  const close = async (): Promise<void> => {
    await out.close();
    await into.close();
  };
  return { sender, out, into, got, reports, close };
}

const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe("RedisLink replylessPublish: \"auto\" (the default)", () => {
  it("publishes over the replyless socket on a Redis that takes CLIENT REPLY; false never opens it", async () => {
    const redis = await startRedis({ own: true });
    const { sender, out, got, reports, close } = await senderAndReceiver(redis.url, redis.url);
    assert.equal(out.publishPath, "replyless");
    assert.equal(out.replylessFallback, undefined);
    assert.equal((await clientsNamed(redis.port, `berrymq-link-rpub:${sender.id}`)).length, 1, "the replyless socket, by its name");
    for (let i = 0; i < 100; i++) sender.twitter("n:x", i);
    await waitFor(() => got.length === 100, "100 messages");
    assert.deepEqual(got, upTo(100));
    assert.deepEqual(reports, []);
    const plain = await RedisLink.connect({ bus: new Bus(), connection: redis.url, replylessPublish: false });
    assert.equal(plain.publishPath, "client");
    assert.equal((await clientsNamed(redis.port, `berrymq-link-rpub:${plain.bus.id}`)).length, 0);
    await plain.close();
    await close();
    await redis.stop();
  });

  for (const [shape, args, user] of [
    ["CLIENT renamed away", RENAMED_CLIENT, ""],
    ["an ACL user without +client", NO_CLIENT_USER, "alice:s3cret@"],
  ] as const) {
    it(`on a Redis with ${shape}: connects over the client, reports why once, delivers every message and answer`, async () => {
      const redis = await startRedis({ own: true, args });
      const url = `redis://${user}127.0.0.1:${redis.port}`;
      const { sender, out, into, got, reports, close } = await senderAndReceiver(url, url);
      assert.equal(out.publishPath, "client");
      assert.match(out.replylessFallback ?? "", /unknown command|NOPERM/);
      assert.equal(reports.length, 1, "one report for the sender");
      assert.match(reports[0]?.message ?? "", /publishing over the ioredis client .*: (ERR unknown command|NOPERM)/);
      assert.equal(into.publishPath, "client");
      for (let i = 0; i < 500; i++) sender.twitter("n:x", i);
      await waitFor(() => got.length === 500, "500 messages");
      assert.deepEqual(got, upTo(500));
      into.bus.follow("stock:count", (m) => (m.args[0] === "apple" ? 12 : 0));
      await into.subscribe("stock:count");
      for (let i = 0; i < 20; i++) assert.equal(await sender.ask("stock:count", "apple", within({ timeout: 2_000 })), 12);
      assert.equal(reports.length, 1, "still one report");
      await close();
      await redis.stop();
    });
  }

  it("replylessPublish: true on a Redis with CLIENT renamed away: connect() rejects, naming the option", async () => {
    const redis = await startRedis({ own: true, args: RENAMED_CLIENT });
    await assert.rejects(RedisLink.connect({ bus: new Bus(), connection: redis.url, replylessPublish: true }), (error: BerryError) => {
      assert.equal(error.code, "REDIS_REPLYLESS_REFUSED");
      assert.ok(error instanceof ReplylessRefusedError, "exported by berrymq/redis");
      assert.match(error.message, /replylessPublish: true.*ERR unknown command/);
      return true;
    });
    await redis.stop();
  });

  // A failover to a server that renamed CLIENT: the batches the replyless socket wrote to the old one,
  // which never ran them (stopped, then gone), go out over the client on the new one, before what was
  // buffered meanwhile. The receiver moves first (its gate opens first), so every message must arrive.
  it("a fallback decided at a reconnection loses none of the batches written before it, nor those after", async () => {
    const before = await startRedis({ own: true });
    const renamed = await startRedis({ own: true, args: RENAMED_CLIENT });
    const toSender = await tcpGate(before.port);
    const toReceiver = await tcpGate(before.port);
    const { sender, out, got, reports, close } = await senderAndReceiver(
      `redis://127.0.0.1:${toSender.port}`,
      `redis://127.0.0.1:${toReceiver.port}`,
    );
    assert.equal(out.publishPath, "replyless");
    for (let i = 0; i < 10; i++) sender.twitter("n:x", i);
    await waitFor(() => got.length === 10, "the first 10");
    process.kill(before.pid as number, "SIGSTOP");
    const sentBefore = out.stats.sent;
    for (let i = 10; i < 30; i++) sender.twitter("n:x", i);
    await waitFor(() => out.stats.sent === sentBefore + 20, "the 20 written, unconfirmed");
    for (const gate of [toSender, toReceiver]) {
      gate.shut();
      gate.target = renamed.port;
    }
    for (let i = 30; i < 40; i++) sender.twitter("n:x", i); // while the sender is cut off: buffered by the Link
    toReceiver.open = true;
    const direct = new Redis({ port: renamed.port, host: "127.0.0.1" });
    while (Number(await direct.pubsub("NUMPAT")) === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    direct.disconnect();
    toSender.open = true;
    await waitFor(() => got.length >= 40, "all 40 after the switch", 15_000);
    assert.deepEqual(got, upTo(40), "every message once, in order");
    assert.equal(out.publishPath, "client");
    assert.equal(reports.length, 1);
    assert.ok((reports[0] as BerryError & { held: number }).held >= 1, "the unconfirmed batches were handed over");
    await close();
    await Promise.all([toSender.close(), toReceiver.close()]);
    await before.stop();
    await renamed.stop();
  });

  // With replies off, Redis's refusal of the sync (`CLIENT REPLY ON`) is silent too: the unanswered sync
  // makes the socket open again after SYNC_TIMEOUT, and that handshake is refused. What it published
  // meanwhile went through (PUBLISH stayed allowed) and goes again over the client: the receiver drops
  // the copies.
  it("an ACL change that takes +client away from the link's user: falls back, every message once", async () => {
    const redis = await startRedis({ own: true, args: ["--user", "alice", "on", ">s3cret", "~*", "&*", "+@all"] });
    const url = `redis://alice:s3cret@127.0.0.1:${redis.port}`;
    const { sender, out, into, got, reports, close } = await senderAndReceiver(url, redis.url);
    assert.equal(out.publishPath, "replyless");
    for (let i = 0; i < 10; i++) sender.twitter("n:x", i);
    await waitFor(() => got.length === 10, "the first 10");
    await new Promise((resolve) => setTimeout(resolve, 100)); // their sync answered
    const admin = new Redis({ port: redis.port, host: "127.0.0.1" });
    await admin.acl("SETUSER", "alice", "-client");
    admin.disconnect();
    for (let i = 10; i < 30; i++) sender.twitter("n:x", i);
    await waitFor(() => got.length === 30, "the 20 after the change");
    await waitFor(() => out.publishPath === "client", "the fallback", SYNC_TIMEOUT + 5_000);
    assert.equal(reports.length, 1);
    assert.match(reports[0]?.message ?? "", /NOPERM/);
    await waitFor(() => into.stats.duplicates >= 1, "the held batch again, dropped as a copy");
    for (let i = 30; i < 40; i++) sender.twitter("n:x", i);
    await waitFor(() => got.length === 40, "the 10 after the fallback");
    assert.deepEqual(got, upTo(40), "every message once, in order");
    await close();
    await redis.stop();
  });

  it("on a Redis Cluster: publishes over the client, says why, reports nothing; true is refused", async () => {
    const cluster = await startCluster();
    try {
      const connection = { cluster: [...cluster.startupNodes] };
      const { sender, out, got, reports, close } = await senderAndReceiver(connection, connection);
      assert.equal(out.publishPath, "client");
      assert.match(out.replylessFallback ?? "", /Cluster/);
      for (let i = 0; i < 50; i++) sender.twitter("n:x", i);
      await waitFor(() => got.length === 50, "50 messages");
      assert.deepEqual(got, upTo(50));
      assert.deepEqual(reports, []);
      await close();
      assert.throws(() => new RedisLink({ bus: new Bus(), connection, replylessPublish: true }), /replylessPublish.*Cluster/);
    } finally {
      await cluster.stop();
    }
  });

  it("on a TLS connection: publishes over the client and says why; true is refused; other values are refused", async () => {
    const link = new RedisLink({ bus: new Bus(), connection: "rediss://127.0.0.1:1", closeTimeout: 0 });
    link.on("error", () => {});
    assert.equal(link.publishPath, "client");
    assert.match(link.replylessFallback ?? "", /TLS/);
    await link.close();
    assert.throws(() => new RedisLink({ bus: new Bus(), connection: "rediss://127.0.0.1:1", replylessPublish: true }), /TLS/);
    const wrong = { bus: new Bus(), connection: "redis://127.0.0.1:1", replylessPublish: "yes" as unknown as boolean };
    assert.throws(() => new RedisLink(wrong), /replylessPublish "yes": expected true, false or "auto"/);
  });
});
