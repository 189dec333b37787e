import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, afterEach, before, describe, it } from "node:test";
import { Cluster, Redis } from "ioredis";
import { defineScripts, runScript } from "../../../bridges/redis/connection.js";
import { DurableChannel, type DurableChannelOptions, type SentMessage } from "../../../bridges/redis/durable-channel.js";
import { type DurableMessage, parseDurableMessage } from "../../../bridges/redis/durable-message.js";
import { DURABLE_SCRIPTS } from "../../../bridges/redis/durable-scripts.js";
import { ChannelEndedError, LateReplyError, NotHeldError, ReceiveTimeoutError } from "../../../bridges/redis/errors.js";
import { InvalidArgumentError } from "../../../lib/errors.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { settlesWithin, sleep } from "../../helpers/wait-for.js";
import { assertLostMoveRecovered, killBlockingConnection } from "./blocking-connection.js";
import { runFixture } from "./fixtures/run-fixture.js";

let server: RedisServer;
before(async () => {
  server = await startRedis();
});
after(async () => {
  await server.stop();
});

/** Channels opened by one test, on a prefix of its own; `end()` ends them all. */
// What a test left open when an assertion failed (its channels, its own redis-server): closed after it,
// or the spec file would wait for them until its time limit.
const leftOpen: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of leftOpen.splice(0)) await close().catch(() => undefined);
});

/** A redis-server of the test's own, stopped after the test even when it fails. */
async function ownRedis(options: Omit<Parameters<typeof startRedis>[0] & object, "own">): Promise<RedisServer> {
  const own = await startRedis({ ...options, own: true });
  leftOpen.push(() => own.stop());
  return own;
}

function scope(url = (): string => server.url) {
  const prefix = `t-${randomUUID()}:{durable}:`;
  const open: DurableChannel[] = [];
  // Before the test's own server is stopped (afterEach closes in order).
  leftOpen.unshift(() => Promise.all(open.map((channel) => channel.end())));
  return {
    prefix,
    async channel(name: string, options: DurableChannelOptions = {}): Promise<DurableChannel> {
      const channel = await DurableChannel.open(name, { connection: url(), prefix, ...options });
      open.push(channel);
      return channel;
    },
    end: () => Promise.all(open.map((channel) => channel.end())),
  };
}

/** Receives until `count` messages came, closing none. */
async function receiveAll(channel: DurableChannel, count: number, timeout = 10_000): Promise<DurableMessage[]> {
  const got: DurableMessage[] = [];
  while (got.length < count) got.push(await channel.receive({ timeout }));
  return got;
}

async function assertNothingMore(channel: DurableChannel, wait = 400): Promise<void> {
  await assert.rejects(channel.receive({ timeout: wait }), ReceiveTimeoutError);
}

/**
 * The scripts of one consumer of `channel`, run as a client reconnecting would resend them (ioredis
 * resends what a lost connection left unanswered).
 */
function rawScripts(prefix: string, channel: string) {
  const client = new Redis(server.url);
  defineScripts(client, DURABLE_SCRIPTS);
  const deadlines = `${prefix}deadlines`;
  const consumer = `${channel}/${randomUUID()}`;
  const summary = (messages: unknown[]): [string, number][] =>
    messages.map((fields) => parseDurableMessage(fields)).map((m) => [m.id, m.attempts]);
  const take = async (token: string, want: number): Promise<[[string, number][], number]> => {
    const [taken, more] = (await runScript(client, "berrymqDurableTake", [
      deadlines,
      prefix,
      channel,
      consumer,
      "",
      86_400_000,
      token,
      want,
      "",
    ])) as [unknown[], number];
    return [summary(taken), Number(more)];
  };
  return { client, take, summary, deadlines, consumer };
}

/** The kind of answer each of `acknowledged` got, closing each; fails on a second answer to one message. */
async function outcomesOf(sender: DurableChannel, acknowledged: ReadonlySet<string>): Promise<Map<string, string>> {
  const outcomes = new Map<string, string>();
  while (outcomes.size < acknowledged.size) {
    const message = await sender.receive({ timeout: 15_000 });
    assert.ok(!outcomes.has(message.inReplyTo as string), `one answer for ${message.inReplyTo}`);
    outcomes.set(message.inReplyTo as string, message.kind);
    await sender.close(message);
  }
  return outcomes;
}

describe("DurableChannel", () => {
  it("sends, receives, replies and closes (muppet's round trip)", async () => {
    const t = scope();
    const dispatcher = await t.channel("dispatcher.1");
    const worker = await t.channel("worker.1");
    const sent = await dispatcher.send({ task: "add", args: [1, 2] }, { to: "worker.1", timeout: 5_000 });
    assert.equal(typeof sent.deadline, "number");
    const task = await worker.receive({ timeout: 2_000 });
    assert.deepEqual(
      { id: task.id, kind: task.kind, from: task.from, to: task.to, content: task.content, attempts: task.attempts },
      { id: sent.id, kind: "message", from: "dispatcher.1", to: "worker.1", content: { task: "add", args: [1, 2] }, attempts: 1 },
    );
    await worker.reply(task, 3);
    const reply = await dispatcher.receive({ timeout: 2_000 });
    assert.equal(reply.kind, "reply");
    assert.equal(reply.inReplyTo, sent.id);
    assert.equal(reply.content, 3);
    await dispatcher.close(reply);
    await assert.rejects(worker.reply(task, 4), NotHeldError, "a message is answered once");
    await assertNothingMore(dispatcher);
    await t.end();
  });

  it("refuses bad arguments with a typed error naming the value", async () => {
    const t = scope();
    const channel = await t.channel("args");
    await assert.rejects(channel.send(1, { to: "" }), InvalidArgumentError);
    await assert.rejects(
      channel.send(() => 1, { to: "x" }),
      /invalid content/,
    );
    await assert.rejects(channel.send(1, { to: "x", timeout: -1 }), /invalid timeout -1/);
    const cluster = new Cluster([{ host: "127.0.0.1", port: 1 }], { lazyConnect: true });
    assert.throws(() => new DurableChannel("x", { connection: cluster, prefix: "plain:" }), /invalid prefix "plain:".*hash tag/);
    cluster.disconnect();
    await t.end();
  });

  it("gives each message of a channel to one receiver, across processes", async () => {
    const t = scope();
    const sender = await t.channel("sender");
    const workers = [0, 1].map(() => runFixture("durable-worker.ts", [server.url, t.prefix, "pool", "reply", "5000", "20"]));
    await Promise.all(workers.map((worker) => worker.line("ready")));
    const ids = new Set<string>();
    for (let i = 0; i < 30; i++) ids.add((await sender.send(i, { to: "pool", timeout: 10_000 })).id);
    const replies = await receiveAll(sender, 30);
    for (const reply of replies) await sender.close(reply);
    assert.deepEqual(new Set(replies.map((reply) => reply.inReplyTo)), ids, "every message answered once");
    const by = new Set(replies.map((reply) => (reply.content as { by: number }).by));
    assert.equal(by.size, 2, "both worker processes took part");
    await assertNothingMore(sender);
    for (let i = 0; i < 2; i++) await sender.send("stop", { to: "pool" });
    assert.deepEqual(await Promise.all(workers.map((worker) => worker.exit())), [0, 0]);
    await t.end();
  });

  it("gives back a message a reply took ahead for the next receive, when the receiver ends before it", async () => {
    const t = scope();
    const sender = await t.channel("ahead-sender");
    const first = await t.channel("ahead");
    const sent: SentMessage[] = [];
    for (let i = 0; i < 3; i++) sent.push(await sender.send(i, { to: "ahead", timeout: 10_000 }));
    const task = await first.receive({ timeout: 2_000 });
    assert.equal(task.id, sent[0]?.id);
    await first.reply(task, "ok"); // more was queued: this also took message 1 for first's next receive()
    await first.end();
    const second = await t.channel("ahead");
    const rest = await receiveAll(second, 2, 2_000);
    assert.deepEqual(
      rest.map((m) => m.id),
      [sent[1]?.id, sent[2]?.id],
      "given back to the front, in order",
    );
    assert.deepEqual(
      rest.map((m) => m.attempts),
      [2, 1],
      "message 1 had been taken ahead by the ended receiver",
    );
    for (const message of rest) await second.reply(message, "ok");
    const replies = await receiveAll(sender, 3);
    assert.deepEqual(new Set(replies.map((reply) => reply.inReplyTo)), new Set(sent.map((m) => m.id)));
    await t.end();
  });

  it("notifies the sender exactly once when nobody answers in time", async () => {
    const t = scope();
    const sender = await t.channel("lonely");
    const sent = await sender.send("anyone?", { to: "nobody", timeout: 200 });
    const notice = await sender.receive({ timeout: 3_000 });
    assert.deepEqual([notice.kind, notice.inReplyTo, notice.content, notice.from], ["timeout", sent.id, "anyone?", "nobody"]);
    await sender.close(notice);
    await assertNothingMore(sender);
    await t.end();
  });

  it("reports a reply that comes after the timeout, and the sender gets the timeout notice only", async () => {
    const t = scope();
    const sender = await t.channel("impatient");
    const worker = await t.channel("slow");
    const sent = await sender.send("quick", { to: "slow", timeout: 150 });
    const task = await worker.receive({ timeout: 2_000 });
    await sleep(300);
    await assert.rejects(
      worker.reply(task, "too late"),
      (error: unknown) => error instanceof LateReplyError && error.messageId === sent.id,
    );
    const notice = await sender.receive({ timeout: 2_000 });
    assert.deepEqual([notice.kind, notice.inReplyTo], ["timeout", sent.id]);
    await sender.close(notice);
    await assertNothingMore(sender);
    await t.end();
  });

  it("gives a message held by a worker killed with SIGKILL to another worker", async () => {
    const t = scope();
    const sender = await t.channel("boss");
    const doomed = runFixture("durable-worker.ts", [server.url, t.prefix, "crew", "hang", "600"]);
    await doomed.line("ready");
    const sent = await sender.send("job", { to: "crew", timeout: 20_000 });
    assert.equal(await doomed.line("took"), `took ${sent.id} 1`);
    await doomed.kill();
    const survivor = await t.channel("crew", { lease: 600 });
    const again = await survivor.receive({ timeout: 5_000 });
    assert.deepEqual([again.id, again.attempts], [sent.id, 2], "re-delivered after the dead worker's lease ran out");
    await survivor.reply(again, "done");
    const reply = await sender.receive({ timeout: 2_000 });
    assert.deepEqual([reply.kind, reply.inReplyTo, reply.content], ["reply", sent.id, "done"]);
    await sender.close(reply);
    await assertNothingMore(sender);
    await t.end();
  });

  it("times out a message whose worker was killed when no other worker takes it", async () => {
    const t = scope();
    const sender = await t.channel("boss2");
    const doomed = runFixture("durable-worker.ts", [server.url, t.prefix, "crew2", "hang", "60000"]);
    await doomed.line("ready");
    const sent = await sender.send("job", { to: "crew2", timeout: 500 });
    await doomed.line("took");
    await doomed.kill();
    const notice = await sender.receive({ timeout: 5_000 });
    assert.deepEqual([notice.kind, notice.inReplyTo], ["timeout", sent.id]);
    await sender.close(notice);
    await assertNothingMore(sender);
    await t.end();
  });

  it("delivers replies and timeout notices to a sender that restarted, each exactly once", async () => {
    const t = scope();
    const first = runFixture("durable-sender.ts", [server.url, t.prefix, "restarting", "send", "desk", "6", "1500"]);
    await first.line("done");
    const ids = first.lines.filter((line) => line.startsWith("sent ")).map((line) => line.slice(5));
    await first.kill();
    const worker = await t.channel("desk");
    const tasks = await receiveAll(worker, 6);
    const answered = tasks.filter((_, i) => i % 2 === 0);
    for (const task of answered) await worker.reply(task, "ok");
    const second = runFixture("durable-sender.ts", [server.url, t.prefix, "restarting", "collect", "2500"]);
    await second.line("end", 20_000);
    assert.equal(await second.exit(), 0);
    const got = second.lines.filter((line) => line.startsWith("got ")).sort();
    const expected = ids.map((id) => `got ${answered.some((task) => task.id === id) ? "reply" : "timeout"} ${id}`).sort();
    assert.deepEqual(got, expected);
    for (const task of tasks.filter((_, i) => i % 2 === 1)) await assert.rejects(worker.reply(task, "late"), LateReplyError);
    await t.end();
  });

  it("loses no acknowledged message when Redis (AOF on) is killed and restarted mid-stream", async () => {
    const own = await ownRedis({ aof: true });
    const t = scope(() => own.url);
    const sender = await t.channel("stream-sender");
    const worker = runFixture("durable-worker.ts", [own.url, t.prefix, "stream-worker", "reply", "5000"]);
    await worker.line("ready");
    const acknowledged = new Set<string>();
    const sending = (async () => {
      for (let i = 0; i < 200; i++) {
        acknowledged.add((await sender.send(i, { to: "stream-worker", timeout: 30_000 })).id);
        if (i % 20 === 0) await sleep(5);
      }
    })();
    while (acknowledged.size < 60) await sleep(5);
    await own.kill();
    await sleep(200);
    await own.restart();
    await sending;
    const outcomes = await outcomesOf(sender, acknowledged);
    assert.deepEqual(new Set(outcomes.keys()), acknowledged);
    assert.ok([...outcomes.values()].every((kind) => kind === "reply"));
    await sender.send("stop", { to: "stream-worker" });
    assert.equal(await worker.exit(), 0);
    await t.end();
    await own.stop();
  });
});

// Calls made while one is on its way go out together (one script call for many sends, finishes or takes):
// each message must still get exactly one outcome, and a resent call the same answer.
describe("DurableChannel under concurrency (batched calls)", () => {
  it("gives each of many concurrent sends to one of many concurrent receive()s, once, and each reply to its sender once", async () => {
    const t = scope();
    const sender = await t.channel("crowd-sender");
    const worker = await t.channel("crowd");
    const count = 300;
    // Sent in one tick: they go out in few calls; the same id sent twice in that tick is one message.
    const repeated = randomUUID();
    const sent = await Promise.all([
      ...Array.from({ length: count - 1 }, (_, i) => sender.send(i, { to: "crowd", timeout: 20_000 })),
      sender.send("again", { to: "crowd", timeout: 20_000, id: repeated }),
      sender.send("again", { to: "crowd", timeout: 20_000, id: repeated }),
    ]);
    assert.equal(sent.at(-1)?.sentAt, sent.at(-2)?.sentAt, "the second send of an id answers with the first's record");
    const ids = new Set(sent.map((message) => message.id));
    assert.equal(ids.size, count);
    // Exactly `count` receive()s in all, 40 at a time.
    const taken: DurableMessage[] = [];
    let asked = 0;
    await Promise.all(
      Array.from({ length: 40 }, async () => {
        while (asked++ < count) {
          const task = await worker.receive({ timeout: 5_000 });
          taken.push(task);
          await worker.reply(task, { echo: task.content });
        }
      }),
    );
    assert.equal(taken.length, count, "no receive() got a message twice or an extra one");
    assert.deepEqual(new Set(taken.map((task) => task.id)), ids, "every message received once");
    assert.ok(taken.every((task) => task.attempts === 1));
    const replies: DurableMessage[] = [];
    asked = 0;
    await Promise.all(
      Array.from({ length: 40 }, async () => {
        while (asked++ < count) {
          const reply = await sender.receive({ timeout: 5_000 });
          replies.push(reply);
          await sender.close(reply);
        }
      }),
    );
    assert.deepEqual(
      replies.map((reply) => reply.kind),
      Array(count).fill("reply"),
    );
    assert.equal(new Set(replies.map((reply) => reply.inReplyTo)).size, count, "one reply per message");
    assert.deepEqual(new Set(replies.map((reply) => reply.inReplyTo)), ids);
    await assertNothingMore(sender);
    await assertNothingMore(worker);
    await t.end();
  });

  it("reports each outcome of finishes made together on its own (one late, one answered twice, one fine)", async () => {
    const t = scope();
    const sender = await t.channel("mixed-sender");
    const worker = await t.channel("mixed");
    const late = await sender.send("late", { to: "mixed", timeout: 150 });
    const fine = await sender.send("fine", { to: "mixed", timeout: 10_000 });
    const twice = await sender.send("twice", { to: "mixed", timeout: 10_000 });
    const tasks = await receiveAll(worker, 3);
    assert.deepEqual(
      tasks.map((task) => task.id),
      [late.id, fine.id, twice.id],
    );
    const [lateTask, fineTask, twiceTask] = tasks as [DurableMessage, DurableMessage, DurableMessage];
    await sleep(300);
    const outcomes = await Promise.allSettled([
      worker.reply(lateTask, "too late"),
      worker.reply(fineTask, "ok"),
      worker.reply(twiceTask, "first"),
      worker.reply(twiceTask, "second"),
    ]);
    assert.ok(outcomes[0].status === "rejected" && outcomes[0].reason instanceof LateReplyError);
    assert.equal(outcomes[1].status, "fulfilled");
    assert.equal(outcomes[2].status, "fulfilled");
    assert.ok(outcomes[3].status === "rejected" && outcomes[3].reason instanceof NotHeldError, "a message is answered once");
    const got = await receiveAll(sender, 3);
    const byId = new Map(got.map((message) => [message.inReplyTo, message]));
    assert.equal(byId.get(late.id)?.kind, "timeout");
    assert.deepEqual([byId.get(fine.id)?.kind, byId.get(fine.id)?.content], ["reply", "ok"]);
    assert.deepEqual([byId.get(twice.id)?.kind, byId.get(twice.id)?.content], ["reply", "first"]);
    await Promise.all(got.map((message) => sender.close(message)));
    await assertNothingMore(sender);
    await t.end();
  });

  it("carries sends made in the tick a finish goes out in the finish's script call, each call answered on its own", async () => {
    const own = await ownRedis({});
    const t = scope(() => own.url);
    // No heartbeat or sweep during the test: every script call counted is one of the test's.
    const quiet = { lease: 600_000, sweepInterval: 600_000 };
    const sender = await t.channel("carry-sender", quiet);
    const worker = await t.channel("carry", quiet);
    const first = await sender.send("ping", { to: "carry", timeout: 10_000 });
    await worker.reply(await worker.receive({ timeout: 5_000 }), "pong");
    const reply = await sender.receive({ timeout: 5_000 });
    assert.equal(reply.inReplyTo, first.id);
    const watcher = new Redis(own.url);
    leftOpen.push(() => watcher.quit());
    const scriptCalls = async (): Promise<number> => {
      const stats = await watcher.info("commandstats");
      return [...stats.matchAll(/cmdstat_(?:eval|evalsha):calls=(\d+)/g)].reduce((sum, match) => sum + Number(match[1]), 0);
    };
    const before = await scriptCalls();
    // A request loop's tick: the reply closed, the next request sent; and a close of the same reply again.
    const outcomes = await Promise.allSettled([
      sender.close(reply),
      sender.send("next", { to: "carry", timeout: 10_000 }),
      sender.close(reply),
      sender.send("after", { to: "carry" }),
    ]);
    assert.equal((await scriptCalls()) - before, 1, "one script call for both closes and both sends");
    assert.equal(outcomes[0].status, "fulfilled");
    assert.ok(outcomes[2].status === "rejected" && outcomes[2].reason instanceof NotHeldError, "a message is closed once");
    assert.ok(outcomes[1].status === "fulfilled" && outcomes[3].status === "fulfilled", "the sends go on");
    const [next, last] = [outcomes[1].value, outcomes[3].value];
    assert.ok(next.deadline !== undefined && next.deadline === next.sentAt + 10_000, "the send's own deadline");
    assert.equal(last.deadline, undefined);
    const tasks = await receiveAll(worker, 2);
    assert.deepEqual(
      tasks.map((task) => [task.id, task.content]),
      [
        [next.id, "next"],
        [last.id, "after"],
      ],
    );
    await Promise.all(tasks.map((task) => worker.close(task)));
    await assertNothingMore(sender);
    await t.end();
  });

  it("keeps what comes after a receive() timed out for the next receive(), and gives it back at end()", async () => {
    const t = scope();
    const sender = await t.channel("patient-sender");
    const worker = await t.channel("patient");
    await assert.rejects(worker.receive({ timeout: 100 }), ReceiveTimeoutError);
    const first = await sender.send(1, { to: "patient", timeout: 10_000 });
    const task = await worker.receive({ timeout: 2_000 });
    assert.deepEqual([task.id, task.attempts], [first.id, 1]);
    // Two waiting receive()s end with the channel; nothing sent meanwhile is lost.
    const pending = [worker.receive({ timeout: 5_000 }), worker.receive()].map((receiving) =>
      receiving.catch((error: unknown) => error),
    );
    await sleep(50);
    const second = await sender.send(2, { to: "patient", timeout: 10_000 });
    const got = await pending[0];
    assert.equal((got as DurableMessage).id, second.id);
    await worker.end();
    assert.ok((await pending[1]) instanceof ChannelEndedError);
    const next = await t.channel("patient");
    const again = await next.receive({ timeout: 2_000 });
    assert.deepEqual([again.id, again.attempts], [first.id, 2], "held messages go back to the front at end()");
    const third = await next.receive({ timeout: 2_000 });
    assert.deepEqual([third.id, third.attempts], [second.id, 2]);
    await t.end();
  });
  it("answers a resent take or finish (same token, same reply id) with the same messages, and takes or records nothing more", async () => {
    const t = scope();
    const sender = await t.channel("resend-sender");
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await sender.send(i, { to: "resend", timeout: 10_000 })).id);
    const { client, take, summary, deadlines, consumer } = rawScripts(t.prefix, "resend");
    const first = await take("token-1", 2);
    assert.deepEqual(first, [
      [
        [ids[0], 1],
        [ids[1], 1],
      ],
      2,
    ]);
    assert.deepEqual((await take("token-1", 2))[0], first[0], "a resent take gets the same messages");
    const finish = async (): Promise<[unknown[], [string, number][]]> => {
      const [outcomes, taken] = (await runScript(client, "berrymqDurableFinish", [
        deadlines,
        t.prefix,
        consumer,
        86_400_000,
        "resend",
        "token-2",
        1,
        "",
        ids[0] as string,
        "reply",
        "reply-1",
        '"r"',
        0,
      ])) as [unknown[][], unknown[]];
      return [outcomes.map((outcome) => outcome.map(String)), summary(taken)];
    };
    const finished = await finish();
    assert.equal((finished[0][0] as string[])[0], "ok");
    assert.deepEqual(finished[1], [[ids[2], 1]]);
    assert.deepEqual(await finish(), finished, "a resent finish gets the same answer and the same next message");
    assert.deepEqual(await take("token-3", 5), [[[ids[3], 1]], 0], "nothing taken twice");
    const reply = await sender.receive({ timeout: 2_000 });
    assert.deepEqual([reply.kind, reply.inReplyTo, reply.content], ["reply", ids[0], "r"]);
    await sender.close(reply);
    await assertNothingMore(sender, 200);
    await client.quit();
    await t.end();
  });
  it("does not queue a message again when its send is resent (same id) after it was answered", async () => {
    const t = scope();
    const sender = await t.channel("retry-sender");
    const worker = await t.channel("retry");
    const id = randomUUID();
    const first = await sender.send("once", { to: "retry", timeout: 10_000, id });
    const task = await worker.receive({ timeout: 2_000 });
    await worker.reply(task, "ok");
    const again = await sender.send("once", { to: "retry", timeout: 10_000, id });
    assert.deepEqual([again.sentAt, again.deadline], [first.sentAt, first.deadline], "answered as the first send was");
    await assertNothingMore(worker);
    const reply = await sender.receive({ timeout: 2_000 });
    assert.deepEqual([reply.kind, reply.inReplyTo], ["reply", id]);
    await sender.close(reply);
    await assertNothingMore(sender);
    await t.end();
  });
  it("answers each of two takes resent after both answers were lost with its own messages (none stuck held)", async () => {
    const t = scope();
    const sender = await t.channel("twice-lost-sender");
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await sender.send(i, { to: "twice-lost", timeout: 10_000 })).id);
    // Two takes on their way at once (the pump's and a finish's, or two finishes'), both run by Redis,
    // both answers lost with the connection: ioredis resends them in order.
    const { client, take } = rawScripts(t.prefix, "twice-lost");
    const a = await take("token-a", 2);
    const b = await take("token-b", 2);
    assert.deepEqual((await take("token-a", 2))[0], a[0], "the first take resent gets its own messages");
    assert.deepEqual((await take("token-b", 2))[0], b[0], "and so does the second");
    assert.deepEqual((await take("token-c", 5))[0], [
      [ids[4], 1],
      [ids[5], 1],
    ]);
    await client.quit();
    await t.end();
  });
  it("fails only the send or reply whose payload Redis refuses, not the calls batched with it", async () => {
    // proto-max-bulk-len at its smallest: an argument over 1 MiB is a protocol error that fails its whole command.
    const own = await ownRedis({ args: ["--proto-max-bulk-len", "1mb"] });
    const t = scope(() => own.url);
    const sender = await t.channel("huge-sender");
    // A long lease: ioredis resends the refused command after each reconnection that came before Redis's
    // error, and the worker's heartbeats wait behind it on that connection; under load that outlasted the
    // 5 s default once, the sender's sweep gave "after" back to the queue, and the reply "fine" failed
    // NotHeldError (queued). Which calls fail is what this test is about; leases have their own specs.
    const worker = await t.channel("huge", { lease: 60_000 });
    worker.on("error", () => {});
    sender.on("error", () => {}); // the refused command costs a reconnection
    const huge = "x".repeat(1_100_000);
    const sends = await Promise.allSettled([
      sender.send("before", { to: "huge", timeout: 10_000 }),
      sender.send(huge, { to: "huge", timeout: 10_000 }),
      sender.send("after", { to: "huge", timeout: 10_000 }),
    ]);
    assert.deepEqual(
      sends.map((outcome) => outcome.status),
      ["fulfilled", "rejected", "fulfilled"],
    );
    // Generous waits: a refused command can cost ioredis several reconnections (it resends it when the
    // connection broke before Redis's error came back), and calls behind it on the connection wait meanwhile.
    const tasks = await receiveAll(worker, 2, 30_000);
    assert.deepEqual(
      tasks.map((task) => task.content),
      ["before", "after"],
    );
    const replies = await Promise.allSettled([
      worker.reply(tasks[0] as DurableMessage, huge),
      worker.reply(tasks[1] as DurableMessage, "fine"),
    ]);
    assert.deepEqual(
      replies.map((outcome) => outcome.status),
      ["rejected", "fulfilled"],
      `replies: ${replies.map((outcome) => (outcome.status === "rejected" ? String(outcome.reason) : "ok")).join("; ")}`,
    );
    const reply = await sender.receive({ timeout: 30_000 });
    assert.deepEqual([reply.inReplyTo, reply.content], [(sends[2] as PromiseFulfilledResult<SentMessage>).value.id, "fine"]);
    await sender.close(reply);
    await t.end();
    await own.stop();
  });
  it("a take that fails after its BLMOVE moved a message (Redis out of memory) leaves it for the next receive()", async () => {
    const own = await ownRedis({});
    const t = scope(() => own.url);
    const sender = await t.channel("oom-sender");
    const worker = await t.channel("oom");
    worker.on("error", () => {}); // its sweeps and heartbeats fail while memory is full
    sender.on("error", () => {});
    const pending = worker.receive({ timeout: 8_000 }).catch((error: unknown) => error);
    await sleep(200); // its BLMOVE blocks on the empty inbox
    const sent = await sender.send("moved", { to: "oom-elsewhere", timeout: 20_000 });
    const client = new Redis(own.url);
    // One step: the message reaches the inbox and memory is full; the BLMOVE is served after it, the TAKE refused.
    await client
      .multi()
      .lmove(`${t.prefix}in:oom-elsewhere`, `${t.prefix}in:oom`, "LEFT", "RIGHT")
      .config("SET", "maxmemory", "1")
      .exec();
    assert.match(String(await pending), /OOM/, "the receive() fails with Redis's error");
    await client.config("SET", "maxmemory", "0");
    const task = await worker.receive({ timeout: 3_000 });
    assert.deepEqual([task.id, task.content], [sent.id, "moved"]);
    await worker.reply(task, "ok");
    const reply = await sender.receive({ timeout: 2_000 });
    assert.deepEqual([reply.inReplyTo, reply.content], [sent.id, "ok"]);
    await sender.close(reply);
    await client.quit();
    await t.end();
    await own.stop();
  });

  it("loses no acknowledged send of a batched burst when Redis (AOF on) is killed and restarted under it, and reports the outage once", async () => {
    const own = await ownRedis({ aof: true });
    const t = scope(() => own.url);
    const sender = await t.channel("burst-stream-sender");
    const errors: string[] = [];
    sender.on("error", (error) => void errors.push(error.code));
    const worker = runFixture("durable-worker.ts", [own.url, t.prefix, "burst-stream", "reply", "5000"]);
    await worker.line("ready");
    const acknowledged = new Set<string>();
    const refused: unknown[] = [];
    // Waves of 150 at once, so that batches are on their way when Redis dies.
    const sending = (async () => {
      for (let wave = 0; wave < 6; wave++) {
        const sends = Array.from({ length: 150 }, (_, i) => sender.send(i, { to: "burst-stream", timeout: 30_000 }));
        for (const outcome of await Promise.allSettled(sends)) {
          if (outcome.status === "fulfilled") acknowledged.add(outcome.value.id);
          else refused.push(outcome.reason);
        }
      }
    })();
    while (acknowledged.size < 150) await sleep(5);
    await own.kill();
    await sleep(200);
    await own.restart();
    await sending;
    assert.deepEqual(refused, [], "sends wait out the outage");
    assert.equal(acknowledged.size, 900);
    const outcomes = await outcomesOf(sender, acknowledged);
    assert.ok([...outcomes.values()].every((kind) => kind === "reply"));
    assert.deepEqual(errors, ["REDIS_CONNECTION"], "one report for the outage");
    await sender.send("stop", { to: "burst-stream" });
    assert.equal(await worker.exit(), 0);
    await t.end();
    await own.stop();
  });

  it("end() while Redis is down and a receive() is blocked returns, failing what waited on Redis", async () => {
    const own = await ownRedis({});
    const t = scope(() => own.url);
    const worker = await t.channel("stranded");
    worker.on("error", () => {});
    const pending = worker.receive().catch((error: unknown) => error);
    await sleep(200); // its BLMOVE blocks
    await own.kill();
    await sleep(300);
    const sending = worker.send("never", { to: "nobody" }).catch((error: unknown) => error);
    const ended = await settlesWithin(worker.end(), 8_000);
    assert.ok(ended, "no CLIENT UNBLOCK can reach Redis: end() must not wait for it");
    assert.ok((await pending) instanceof ChannelEndedError);
    assert.ok((await sending) instanceof Error, "a send waiting for Redis fails with the closed connection");
    await own.stop();
  });

  it("keeps one sender's order for one worker whose next receive() overlaps its batched replies", async () => {
    const t = scope();
    const sender = await t.channel("fifo-sender");
    const worker = await t.channel("fifo");
    const count = 600;
    // Bursts of 50 at once (batched sends), sent while the worker takes.
    const sending = (async () => {
      for (let wave = 0; wave < count / 50; wave++) {
        await Promise.all(Array.from({ length: 50 }, (_, i) => sender.send(wave * 50 + i, { to: "fifo", timeout: 20_000 })));
      }
    })();
    const got: number[] = [];
    const replies: Promise<SentMessage>[] = [];
    while (got.length < count) {
      const task = await worker.receive({ timeout: 5_000 });
      got.push(task.content as number);
      replies.push(worker.reply(task, "ok")); // not awaited: the finish and the next take are on their way together
    }
    await sending;
    await Promise.all(replies);
    assert.deepEqual(
      got,
      Array.from({ length: count }, (_, i) => i),
    );
    assert.equal((await receiveAll(sender, count)).length, count);
    await t.end();
  });

  it("records every one of 10,000 sends made at once, and answers a bad call alone (its neighbours go out)", async () => {
    const t = scope();
    const sender = await t.channel("many-sender");
    const count = 10_000;
    const sends = Array.from({ length: count }, (_, i) =>
      i % 1_000 === 500 ? sender.send(1n, { to: "many" }) : sender.send(i, { to: "many", timeout: 60_000 }),
    );
    const outcomes = await Promise.allSettled(sends);
    const refused = outcomes.filter((outcome) => outcome.status === "rejected");
    assert.equal(refused.length, 10, "only the calls with content that is not JSON fail");
    assert.ok(refused.every((outcome) => outcome.reason instanceof InvalidArgumentError));
    const ids = new Set(outcomes.flatMap((outcome) => (outcome.status === "fulfilled" ? [outcome.value.id] : [])));
    assert.equal(ids.size, count - 10);
    const client = new Redis(server.url);
    assert.equal(await client.llen(`${t.prefix}in:many`), count - 10, "each recorded once");
    await client.quit();
    await t.end();
  });

  it("end() returns when Redis is hung (SIGSTOP: connected, answering nothing), says what it could not do, and fails the calls still waiting", async () => {
    const own = await ownRedis({});
    const t = scope(() => own.url);
    const channel = await t.channel("hung");
    const reports: string[] = [];
    channel.on("error", (error) => void reports.push(error.message));
    const waiting = channel.receive().catch((error: unknown) => error);
    await sleep(100); // its BLMOVE blocks on the empty inbox
    const pid = own.pid as number;
    process.kill(pid, "SIGSTOP");
    try {
      const sending = channel.send("late", { to: "nobody" }).catch((error: unknown) => error);
      await sleep(50);
      assert.ok(await settlesWithin(channel.end(), 30_000), "end() returns while Redis is hung");
      assert.ok((await waiting) instanceof ChannelEndedError, "the waiting receive() ends with the channel");
      assert.ok((await sending) instanceof Error, "the send Redis never answered fails");
      assert.ok(
        reports.some((message) => /did not answer/.test(message)),
        `the channel says it gave up: ${reports.join("; ")}`,
      );
    } finally {
      process.kill(pid, "SIGCONT");
    }
  });

  it("end() while batched finishes (which take ahead) and takes are on their way gives back every message not finished", async () => {
    const t = scope();
    const sender = await t.channel("ending-sender");
    const first = await t.channel("ending");
    const count = 60;
    const sent = await Promise.all(Array.from({ length: count }, (_, i) => sender.send(i, { to: "ending", timeout: 20_000 })));
    const tasks = await Promise.all(Array.from({ length: 20 }, () => first.receive({ timeout: 5_000 })));
    // Replies (their FINISH takes ahead) and more receive()s on their way when the channel ends.
    const replies = tasks.map((task) => first.reply(task, "first"));
    const waiting = Array.from({ length: 10 }, () => first.receive().catch((error: unknown) => error));
    assert.ok(await settlesWithin(first.end(), 8_000), "end() returns");
    const replied = new Set<string>();
    for (const [i, outcome] of (await Promise.allSettled(replies)).entries()) {
      if (outcome.status === "fulfilled") replied.add(tasks[i]?.id as string);
    }
    for (const got of await Promise.all(waiting)) assert.ok(got instanceof ChannelEndedError);
    const second = await t.channel("ending");
    const rest = await receiveAll(second, count - replied.size);
    assert.deepEqual(new Set([...replied, ...rest.map((task) => task.id)]), new Set(sent.map((m) => m.id)), "none lost");
    await Promise.all(rest.map((task) => second.reply(task, "second")));
    await assertNothingMore(second);
    const answers = await receiveAll(sender, count);
    assert.equal(new Set(answers.map((reply) => reply.inReplyTo)).size, count, "one reply each");
    await t.end();
  });

  it("a sender SIGKILLed mid-burst of batched sends and restarted gets exactly one outcome per message Redis recorded", async () => {
    const t = scope();
    const timeout = 3_000;
    const first = runFixture("durable-sender.ts", [
      server.url,
      t.prefix,
      "burster",
      "burst",
      "burst-desk",
      "400",
      String(timeout),
    ]);
    await first.line("sent ");
    await first.kill(); // while later batches are on their way
    const acknowledged = first.lines.filter((line) => line.startsWith("sent ")).map((line) => line.slice(5));
    const worker = await t.channel("burst-desk");
    const tasks: DurableMessage[] = [];
    for (;;) {
      const task = await worker.receive({ timeout: 500 }).catch((error: unknown) => error);
      if (!(task instanceof Object) || task instanceof ReceiveTimeoutError) break;
      tasks.push(task as DurableMessage);
    }
    const recorded = new Set(tasks.map((task) => task.id));
    assert.equal(recorded.size, tasks.length, "each message received once");
    assert.ok(
      acknowledged.every((id) => recorded.has(id)),
      "every acknowledged send was recorded",
    );
    const answered = tasks.filter((_, i) => i % 2 === 0);
    await Promise.all(answered.map((task) => worker.reply(task, "ok")));
    // Past every deadline: the others' timeout notices are queued before the new sender collects. Its
    // process starts now, and opens its channel (the restart) only then.
    const latest = Math.max(...tasks.map((task) => task.deadline ?? 0));
    const second = runFixture("durable-sender.ts", [server.url, t.prefix, "burster", "collect", "1500", String(latest + 500)]);
    await second.line("end", 30_000);
    assert.equal(await second.exit(), 0);
    const got = second.lines.filter((line) => line.startsWith("got ")).sort();
    const replied = new Set(answered.map((task) => task.id));
    const expected = tasks.map((task) => `got ${replied.has(task.id) ? "reply" : "timeout"} ${task.id}`).sort();
    assert.deepEqual(got, expected);
    await t.end();
  });

  it("a worker SIGKILLed while holding prefetched messages and a batched finish is on its way loses none and answers none twice", async () => {
    const t = scope();
    const sender = await t.channel("relay-sender");
    const count = 40;
    const sent = await Promise.all(Array.from({ length: count }, (_, i) => sender.send(i, { to: "relay", timeout: 15_000 })));
    const doomed = runFixture("durable-worker.ts", [server.url, t.prefix, "relay", "die", "600", "10"]);
    await doomed.line("replying");
    assert.equal(await doomed.exit(), "SIGKILL");
    const survivor = await t.channel("relay", { lease: 600 });
    const served: DurableMessage[] = [];
    const serving = (async () => {
      for (;;) {
        const task = await survivor.receive().catch(() => undefined);
        if (task === undefined) return;
        served.push(task);
        await survivor.reply(task, { by: "survivor" });
      }
    })();
    const replies = await receiveAll(sender, count);
    const answers = new Set(replies.map((reply) => reply.inReplyTo));
    assert.equal(answers.size, count, "one reply per message");
    assert.deepEqual(answers, new Set(sent.map((message) => message.id)));
    assert.ok(replies.every((reply) => reply.kind === "reply"));
    assert.ok(
      served.some((task) => task.attempts === 2),
      "what the dead worker held came back",
    );
    await Promise.all(replies.map((reply) => sender.close(reply)));
    await assertNothingMore(sender);
    await t.end();
    await serving;
  });

  it("after its blocking connection is cut, a receiver gets what a lost BLMOVE answer left in its held list", async () => {
    const t = scope();
    const sender = await t.channel("cut-sender");
    const worker = await t.channel("cut");
    const client = new Redis(server.url);
    await assertLostMoveRecovered(client, t.prefix, sender, worker);
    await client.quit();
    await t.end();
  });

  it("a take a failover lost (the message queued again in the held list, as the promoted replica may have it): its close still finishes it, and no scan gives it out twice", async () => {
    const t = scope();
    const sender = await t.channel("stale-sender");
    const worker = await t.channel("stale");
    await sender.send("one", { to: "stale", timeout: 10_000 });
    await sender.send("two", { to: "stale", timeout: 10_000 });
    const first = await worker.receive({ timeout: 2_000 });
    const second = await worker.receive({ timeout: 2_000 });
    const client = new Redis(server.url);
    // The replica got the moves into the held list but not the takes: both read as queued there.
    for (const task of [first, second]) await client.hset(`${t.prefix}m:${task.id}`, "state", "queued", "attempts", 0);
    await client.hdel(`${t.prefix}m:${first.id}`, "holder");
    await client.hdel(`${t.prefix}m:${second.id}`, "holder");
    await worker.close(first); // NotHeldError ('queued') without the fix
    // The blocking connection comes back: the next take scans the held list and claims `second` again.
    await killBlockingConnection(client, worker.consumer);
    await sleep(300);
    await assert.rejects(worker.receive({ timeout: 700 }), ReceiveTimeoutError, "second is not given out again");
    await worker.reply(second, "done");
    const reply = await sender.receive({ timeout: 2_000 });
    assert.deepEqual([reply.inReplyTo, reply.content], [second.id, "done"]);
    await sender.close(reply);
    await assertNothingMore(sender);
    await client.quit();
    await t.end();
  });
});
