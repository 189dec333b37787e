// DurableChannel against real servers: what a failover that takes writes back (asynchronous replication)
// does to takes.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { type TestContext, test } from "node:test";
import { Redis } from "ioredis";
import { defineScripts, runScript } from "../../../bridges/redis/connection.js";
import { DurableChannel, type DurableChannelOptions } from "../../../bridges/redis/durable-channel.js";
import { DURABLE_SCRIPTS } from "../../../bridges/redis/durable-scripts.js";
import { startRedis } from "../../helpers/redis-server.js";

/**
 * Registers what to close after the test, closed last first (node:test runs `t.after` hooks first first:
 * servers would stop before the channels on them end), each even when another one fails.
 */
function closer(t: TestContext): (close: () => unknown) => void {
  const stack: (() => unknown)[] = [];
  t.after(async () => {
    for (const close of stack.reverse()) await Promise.resolve().then(close).catch(() => undefined);
  });
  return (close) => void stack.push(close);
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

test("a take resent after a failover lost its BLMOVE (the message back in the inbox) moves the message into the held list: when that worker dies, another one gets it", { timeout: 60_000 }, async (t) => {
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
  const [taken] = (await runScript(raw, "berrymqDurableTake", [deadlines, c.prefix, "lost-move", dead, sent.id, 86_400_000, randomUUID(), 1, ""])) as [unknown[][], number];
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
