// DurableChannel against real servers: what a failover that takes writes back (asynchronous replication)
// does to takes; with durability, on a master and a replica (standalone, `--replicaof`), what a slow
// replica (SIGSTOP: connected, not answering), a WAIT with no timeout and a payload Redis refuses do to
// the channel's promises.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, type TestContext, test } from "node:test";
import { Redis } from "ioredis";
import { defineScripts, runScript } from "../../../bridges/redis/connection.js";
import { DurableChannel, type DurableChannelOptions } from "../../../bridges/redis/durable-channel.js";
import type { DurableMessage } from "../../../bridges/redis/durable-message.js";
import { DURABLE_SCRIPTS } from "../../../bridges/redis/durable-scripts.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { settlesWithin, sleep } from "../../helpers/wait-for.js";

/**
 * Registers what to close after the test, closed last first (node:test runs `t.after` hooks first first:
 * servers would stop before the channels on them end), each even when another one fails.
 */
function closer(t: TestContext): (close: () => unknown) => void {
  const stack: (() => unknown)[] = [];
  t.after(async () => {
    for (const close of stack.reverse())
      await Promise.resolve()
        .then(close)
        .catch(() => undefined);
  });
  return (close) => void stack.push(close);
}

/**
 * A master and one replica in sync with it, stopped (and the replica woken first) after the test. The
 * master starts the replica's full sync at once (`--repl-diskless-sync-delay 0`; Redis 7 waits 5 s by
 * default for more replicas to share it): "in sync" ~5 s sooner, nothing else about replication changed.
 */
async function replicated(
  later: (close: () => unknown) => void,
  extraArgs: readonly string[] = [],
): Promise<{ master: RedisServer; replica: RedisServer; admin: Redis }> {
  const args = ["--repl-diskless-sync-delay", "0", ...extraArgs];
  const master = await startRedis({ own: true, args });
  later(() => master.stop());
  const replica = await startRedis({ own: true, args: [...args, "--replicaof", "127.0.0.1", String(master.port)] });
  later(async () => {
    wake(replica);
    await replica.stop();
  });
  const admin = new Redis(master.url);
  later(() => admin.disconnect());
  const deadline = Date.now() + 20_000;
  while (!/slave0:[^\n]*state=online/.test(await admin.info("replication"))) {
    if (Date.now() > deadline) throw new Error("the replica did not come online within 20 s");
    await sleep(50);
  }
  return { master, replica, admin };
}

/** SIGSTOPs a server: it stays connected (its replication link is up) but answers nothing. */
function freeze(server: RedisServer): void {
  if (server.pid !== undefined) process.kill(server.pid, "SIGSTOP");
}

function wake(server: RedisServer): void {
  if (server.pid !== undefined) process.kill(server.pid, "SIGCONT");
}

/** Opens channels on one prefix of their own; all are ended after the test. */
function channels(later: (close: () => unknown) => void, url: string) {
  const prefix = `t-${randomUUID()}:{durable}:`;
  const open: DurableChannel[] = [];
  later(() => Promise.all(open.map((channel) => channel.end())));
  return {
    prefix,
    async open(name: string, options: DurableChannelOptions = {}): Promise<DurableChannel> {
      const channel = await DurableChannel.open(name, { connection: url, prefix, ...options });
      channel.on("error", () => {});
      open.push(channel);
      return channel;
    },
  };
}

// The two modes run at once: each has its own master, replica (SIGSTOPped by it alone), prefix and
// channels, and spends its 9 s mostly waiting (the other worker's receive that must get nothing).
describe("a slow replica (WAIT timing out while it is connected), both modes at once", { concurrency: true }, () => {
  for (const mode of ["channel-wide durability", "durability of one send"] as const) {
    test(`a slow replica (WAIT timing out while it is connected) does not cost a live worker its lease (${mode}): the message it holds is neither given to another worker nor refused its reply`, {
      timeout: 60_000,
    }, async (t) => {
      const later = closer(t);
      const { master, replica } = await replicated(later);
      const c = channels(later, master.url);
      const sender = await c.open("slow-sender");
      // The WAIT (6 s) is far longer than the lease (1 s): a heartbeat waiting behind it would let the lease run out.
      const slow = { replicas: 1, timeout: 6_000 };
      const worker = await c.open(
        "slow",
        mode === "channel-wide durability" ? { lease: 1_000, durability: slow } : { lease: 1_000 },
      );
      const other = await c.open("slow", { lease: 1_000 });
      const sent = await sender.send("work", { to: "slow", timeout: 60_000 });
      const task = await worker.receive({ timeout: 10_000 });
      assert.equal(task.id, sent.id);
      const stolen = other.receive({ timeout: 9_000 }).then(
        (message) => message.id,
        () => undefined,
      );
      freeze(replica);
      // A write of the worker's own, waiting for a replica that answers nothing.
      const side = await worker.send("side", {
        to: "nobody",
        timeout: 60_000,
        ...(mode === "durability of one send" ? { durability: slow } : {}),
      });
      assert.equal(side.replicas, 0);
      wake(replica);
      assert.equal(await stolen, undefined, "the held message was not given to another worker");
      const reply = await worker.reply(task, "done"); // NotHeldError ('queued') when the lease ran out
      assert.equal(typeof reply.sentAt, "number");
      const answer = await sender.receive({ timeout: 10_000 });
      assert.deepEqual([answer.kind, answer.inReplyTo, answer.content], ["reply", sent.id, "done"]);
      await sender.close(answer);
    });
  }
});

test("end() returns while a call waits for a replica with timeout Infinity (WAIT 0), and that call resolves with the replicas counted so far", {
  timeout: 60_000,
}, async (t) => {
  const later = closer(t);
  const { master, replica } = await replicated(later);
  const c = channels(later, master.url);
  const forever = { replicas: 1, timeout: Number.POSITIVE_INFINITY };
  const sender = await c.open("forever", { durability: forever });
  // Durability for one send only: its WAIT goes out on a connection the channel opens for it.
  const plain = await c.open("forever-plain");
  await sender.send("before", { to: "nobody" }); // confirmed: the replica is up
  freeze(replica);
  const pending = [sender.send("waits", { to: "nobody" }), plain.send("waits too", { to: "nobody", durability: forever })];
  for (const promise of pending) promise.catch(() => {});
  await sleep(300);
  assert.ok(await settlesWithin(sender.end(), 20_000), "end() returned");
  assert.ok(await settlesWithin(plain.end(), 20_000), "end() returned (durability per send)");
  const replicas = (await Promise.all(pending)).map((sent) => sent.replicas);
  assert.deepEqual(replicas, [0, 0]);
  wake(replica);
});

test("a send with timeout Infinity waits for its replica even after another WAIT came back short on a master that lists none: it answers once a replica is back", {
  timeout: 60_000,
}, async (t) => {
  const later = closer(t);
  const { master, replica, admin } = await replicated(later);
  const c = channels(later, master.url);
  const sender = await c.open("patient");
  await replica.kill();
  while (!/connected_slaves:0/.test(await admin.info("replication"))) await sleep(50);
  const short = await sender.send("short", { to: "nobody", durability: { replicas: 1, timeout: 200 } });
  assert.equal(short.replicas, 0);
  // Before: answered at once with replicas: 0 (the master listed no replica after a short WAIT).
  const patient = sender.send("patient", { to: "nobody", durability: { replicas: 1, timeout: Number.POSITIVE_INFINITY } });
  patient.catch(() => {});
  assert.equal(await settlesWithin(patient, 1_000), false, "it waits for a replica");
  await replica.restart();
  assert.ok(await settlesWithin(patient, 30_000), "it answers once the replica is back");
  assert.equal((await patient).replicas, 1);
});

test("a take resent after a failover lost its BLMOVE (the message back in the inbox) moves the message into the held list: when that worker dies, another one gets it", {
  timeout: 60_000,
}, async (t) => {
  const later = closer(t);
  const server = await startRedis();
  later(() => server.stop());
  const c = channels(later, server.url);
  const sender = await c.open("lost-move-sender");
  const sent = await sender.send("work", { to: "lost-move", timeout: 60_000 });
  // A worker whose BLMOVE of `sent` the promoted replica never had: its take (resent whole on the
  // promoted master) names the id it was given, which is still in the inbox there. Then it dies.
  const raw = new Redis(server.url);
  later(() => raw.disconnect());
  defineScripts(raw, DURABLE_SCRIPTS);
  const dead = `lost-move/${randomUUID()}`;
  const deadlines = `${c.prefix}deadlines`;
  await runScript(raw, "berrymqDurableBeat", [deadlines, c.prefix, dead, "lost-move", 500]);
  const [taken] = (await runScript(raw, "berrymqDurableTake", [
    deadlines,
    c.prefix,
    "lost-move",
    dead,
    sent.id,
    86_400_000,
    randomUUID(),
    1,
    "",
  ])) as [unknown[][], number];
  assert.equal(taken[0]?.[0], sent.id, "the dead worker had taken it");
  assert.equal(await raw.lpos(`${c.prefix}held:${dead}`, sent.id), 0, "in the dead worker's held list");
  const worker = await c.open("lost-move", { lease: 1_000 });
  const task = await worker.receive({ timeout: 15_000 }); // ReceiveTimeoutError: dropped as another's when taken from the inbox
  assert.deepEqual([task.id, task.attempts], [sent.id, 2]);
  await worker.reply(task, "done");
  const answer = await sender.receive({ timeout: 10_000 });
  assert.deepEqual([answer.kind, answer.inReplyTo], ["reply", sent.id]);
  await sender.close(answer);
});

test("with durability, a payload Redis refuses fails its own send or reply only, and the calls around it are confirmed", {
  timeout: 90_000,
}, async (t) => {
  const later = closer(t);
  // proto-max-bulk-len at its smallest: an argument over 1 MiB is a protocol error (Redis then closes the connection).
  const { master } = await replicated(later, ["--proto-max-bulk-len", "1mb"]);
  const c = channels(later, master.url);
  // A generous WAIT timeout: the replica is up, so each call is confirmed unless it lags that long.
  const durability = { replicas: 1, timeout: 15_000 };
  const sender = await c.open("huge-sender", { durability });
  const worker = await c.open("huge", { durability, lease: 60_000 });
  const huge = "x".repeat(1_100_000);
  const sends = await Promise.allSettled([
    sender.send("before", { to: "huge", timeout: 60_000 }),
    sender.send(huge, { to: "huge", timeout: 60_000 }),
    sender.send("after", { to: "huge", timeout: 60_000 }),
  ]);
  assert.deepEqual(
    sends.map((outcome) => (outcome.status === "fulfilled" ? outcome.value.replicas : "rejected")),
    [1, "rejected", 1],
  );
  const tasks = [await worker.receive({ timeout: 30_000 }), await worker.receive({ timeout: 30_000 })];
  assert.deepEqual(
    tasks.map((task) => task.content),
    ["before", "after"],
  );
  const [first, second] = tasks as [DurableMessage, DurableMessage];
  const replies = await Promise.allSettled([worker.reply(first, huge), worker.reply(second, "fine")]);
  assert.deepEqual(
    replies.map((outcome) => outcome.status),
    ["rejected", "fulfilled"],
  );
  const answer = await sender.receive({ timeout: 30_000 });
  assert.deepEqual([answer.inReplyTo, answer.content], [second.id, "fine"]);
  await sender.close(answer);
});

test("with durability, a send carried in a close's script call is confirmed by the replica with it, and both are on the replica", {
  timeout: 60_000,
}, async (t) => {
  const later = closer(t);
  const { master, replica, admin } = await replicated(later);
  const c = channels(later, master.url);
  const durability = { replicas: 1, timeout: 15_000 };
  // No heartbeat or sweep during the test: the script calls counted are the test's.
  const quiet = { durability, lease: 600_000, sweepInterval: 600_000 };
  const sender = await c.open("carried-sender", quiet);
  const worker = await c.open("carried", quiet);
  await sender.send("ping", { to: "carried", timeout: 30_000 });
  await worker.reply(await worker.receive({ timeout: 10_000 }), "pong");
  const reply = await sender.receive({ timeout: 10_000 });
  const scriptCalls = async (): Promise<number> => {
    const stats = await admin.info("commandstats");
    return [...stats.matchAll(/cmdstat_(?:eval|evalsha):calls=(\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0);
  };
  const before = await scriptCalls();
  // The request loop's tick: the reply closed and the next request sent together.
  const [closed, next] = await Promise.all([sender.close(reply), sender.send("next", { to: "carried", timeout: 30_000 })]);
  assert.equal(closed, undefined);
  assert.equal((await scriptCalls()) - before, 1, "one script call for the close and the send");
  assert.equal(next.replicas, 1, "confirmed by the replica");
  const onReplica = new Redis(replica.url);
  later(() => onReplica.disconnect());
  assert.deepEqual(await onReplica.lrange(`${c.prefix}in:carried`, 0, -1), [next.id], "the send is on the replica");
  assert.equal(await onReplica.hget(`${c.prefix}m:${reply.id}`, "state"), "done", "so is the close");
});
