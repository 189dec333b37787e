import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Cluster } from "ioredis";
import { DurableChannel, type DurableChannelOptions, type SentMessage } from "../../../bridges/redis/durable-channel.js";
import type { DurableMessage } from "../../../bridges/redis/durable-message.js";
import { LateReplyError, NotHeldError, ReceiveTimeoutError } from "../../../bridges/redis/errors.js";
import { InvalidArgumentError } from "../../../lib/errors.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { sleep } from "../../helpers/wait-for.js";
import { runFixture } from "./fixtures/run-fixture.js";

let server: RedisServer;
before(async () => {
  server = await startRedis();
});
after(async () => {
  await server.stop();
});

/** Channels opened by one test, on a prefix of its own; `end()` ends them all. */
function scope(url = (): string => server.url) {
  const prefix = `t-${randomUUID()}:{durable}:`;
  const open: DurableChannel[] = [];
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
    await assert.rejects(channel.send(() => 1, { to: "x" }), /invalid content/);
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
    assert.deepEqual(rest.map((m) => m.id), [sent[1]?.id, sent[2]?.id], "given back to the front, in order");
    assert.deepEqual(rest.map((m) => m.attempts), [2, 1], "message 1 had been taken ahead by the ended receiver");
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
    await assert.rejects(worker.reply(task, "too late"), (error: unknown) => error instanceof LateReplyError && error.messageId === sent.id);
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
    const own = await startRedis({ aof: true, own: true });
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
    const outcomes = new Map<string, string>();
    while (outcomes.size < acknowledged.size) {
      const message = await sender.receive({ timeout: 15_000 });
      assert.ok(!outcomes.has(message.inReplyTo as string), `one answer for ${message.inReplyTo}`);
      outcomes.set(message.inReplyTo as string, message.kind);
      await sender.close(message);
    }
    assert.deepEqual(new Set(outcomes.keys()), acknowledged);
    assert.ok([...outcomes.values()].every((kind) => kind === "reply"));
    await sender.send("stop", { to: "stream-worker" });
    assert.equal(await worker.exit(), 0);
    await t.end();
    await own.stop();
  });
});
