// What every Redis server shape (Cluster, Sentinel) must do like standalone: the link conformance suite,
// DurableChannel and RedisQueue across processes, prompt ends, and a real failover (SIGKILL of the
// master) mid-stream. Called by cluster.spec.ts and sentinel.spec.ts with their running servers.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import type { RedisConnection } from "../../../bridges/redis/connection.js";
import { DurableChannel, type SentMessage } from "../../../bridges/redis/durable-channel.js";
import type { DurableMessage } from "../../../bridges/redis/durable-message.js";
import { RedisLink } from "../../../bridges/redis/redis-link.js";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import type { BerryError } from "../../../lib/errors.js";
import type { Message } from "../../../lib/message.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { linkConformance } from "../link-conformance.js";
import { runFixture } from "./fixtures/run-fixture.js";

/** A server shape under test. */
export interface Shape {
  /** "cluster" or "sentinel". */
  name: string;
  /** How clients reach it (called once the servers run). */
  connection(): RedisConnection;
  /** The same, as a fixture's command-line argument. */
  argument(): string;
  /**
   * SIGKILLs the master that serves `key` and resolves once a replica was promoted (ms it took);
   * `killed` is called as soon as the master is dead.
   */
  killMaster(key: string, killed?: () => void): Promise<number>;
  /** SIGKILLs the server a client named `clientName` is connected to, as `killMaster` (ms to promotion, or to the kill). */
  killServerOf(clientName: string): Promise<number>;
}

/** Registers the shared tests for one shape. */
export function shapeSuite(shape: Shape): void {
  linkConformance(`redis ${shape.name}`, async () => {
    const prefix = `conf-${randomUUID()}:`;
    const a = new Bus();
    const b = new Bus();
    const left = await RedisLink.connect({ bus: a, connection: shape.connection(), prefix });
    const right = await RedisLink.connect({ bus: b, connection: shape.connection(), prefix });
    return {
      a,
      b,
      close: async () => {
        await left.close();
        await right.close();
      },
    };
  });

  describe(`redis ${shape.name}: durable channel and queue`, () => {
    it("round trip with a worker in another process, and a timeout notice exactly once", async () => {
      const prefix = `rt-${randomUUID()}:{durable}:`;
      const sender = await DurableChannel.open("rt-sender", { connection: shape.connection(), prefix });
      const worker = runFixture("durable-worker.ts", [shape.argument(), prefix, "rt-worker", "reply", "5000"]);
      await worker.line("ready");
      const sent = await sender.send({ n: 1 }, { to: "rt-worker", timeout: 10_000 });
      const reply = await sender.receive({ timeout: 10_000 });
      assert.deepEqual([reply.kind, reply.inReplyTo, (reply.content as { echo: unknown }).echo], ["reply", sent.id, { n: 1 }]);
      await sender.close(reply);
      const lost = await sender.send("nobody", { to: "rt-nobody", timeout: 300 });
      const notice = await sender.receive({ timeout: 10_000 });
      assert.deepEqual([notice.kind, notice.inReplyTo], ["timeout", lost.id]);
      await sender.close(notice);
      await sender.send("stop", { to: "rt-worker" });
      assert.equal(await worker.exit(), 0);
      await sender.end();
    });

    it("a message held by a worker process killed with SIGKILL goes to another worker once its lease runs out", async () => {
      const prefix = `kill-${randomUUID()}:{durable}:`;
      const sender = await DurableChannel.open("kill-boss", { connection: shape.connection(), prefix });
      const doomed = runFixture("durable-worker.ts", [shape.argument(), prefix, "kill-crew", "hang", "600"]);
      await doomed.line("ready");
      const sent = await sender.send("job", { to: "kill-crew", timeout: 20_000 });
      assert.equal(await doomed.line("took"), `took ${sent.id} 1`);
      await doomed.kill();
      const survivor = await DurableChannel.open("kill-crew", { connection: shape.connection(), prefix, lease: 600 });
      const again = await survivor.receive({ timeout: 10_000 });
      assert.deepEqual([again.id, again.attempts], [sent.id, 2], "re-delivered after the dead worker's lease ran out");
      await survivor.reply(again, "done");
      const reply = await sender.receive({ timeout: 5_000 });
      assert.deepEqual([reply.kind, reply.inReplyTo, reply.content], ["reply", sent.id, "done"]);
      await sender.close(reply);
      await Promise.all([sender.end(), survivor.end()]);
    });

    it("end() ends receives blocked in Redis at once (CHANNEL_ENDED)", async () => {
      const prefix = `end-${randomUUID()}:{durable}:`;
      const channels = await Promise.all(
        Array.from({ length: 6 }, (_, i) => DurableChannel.open(`end-${i}`, { connection: shape.connection(), prefix })),
      );
      const pending = channels.map((channel) => channel.receive().catch((error: BerryError) => error.code));
      await sleep(200);
      for (const channel of channels) await channel.end();
      assert.deepEqual(
        await Promise.all(pending),
        channels.map(() => "CHANNEL_ENDED"),
      );
    });

    it("RedisQueue: messages fed in this process are taken by a consumer process, once each", async () => {
      const prefix = `q-${randomUUID()}:`;
      const bus = new Bus();
      const queue = new RedisQueue("job:*", { bus, connection: shape.connection(), prefix });
      const consumer = runFixture("queue-consumer.ts", [shape.argument(), prefix, "0"]);
      await consumer.line("ready");
      const sent: string[] = [];
      bus.follow("job:run", (m) => void sent.push(m.messageId));
      for (let i = 0; i < 20; i++) bus.twitter("job:run", i);
      await waitFor(
        () => consumer.lines.filter((line) => line.startsWith("got ")).length === 20,
        "20 messages in the consumer",
        10_000,
      );
      bus.twitter("job:stop");
      await consumer.line("end");
      assert.equal(await consumer.exit(), 0);
      const got = consumer.lines.filter((line) => line.startsWith("got ")).map((line) => line.slice(4));
      assert.deepEqual([...got].sort(), [...sent].sort());
      assert.equal(queue.stats.pushed, 21);
      await queue.close();
      bus.close();
    });
  });
}

/**
 * Registers the failover test: a sender streams `total` durable sends (with a timeout) to a worker
 * process, both channels with `durability: { replicas: 1 }` (replication is asynchronous: without it a
 * failover may take back what the old master acknowledged); mid-stream the master serving the prefix is
 * SIGKILLed. Asserts 0 sends rejected, 0 acknowledged sends lost, exactly one outcome (reply or timeout
 * notice) per message, every reply closed, one outage reported per channel; logs the stall beside the
 * promotion time.
 */
export function failoverSuite(shape: Shape, total = 1_200, windows: readonly number[] = [20]): void {
  describe(`redis ${shape.name}: failover`, () => {
    // `window` sends on their way at once: at 200, batches of up to 100 are on their way when the master dies.
    for (const window of windows)
      it(`SIGKILL of the master mid-stream (${total} sends, ${window} at once): none rejected, none lost, one outcome each, one outage reported`, async (t) => {
        const prefix = `fo-${randomUUID()}:{failover}:`;
        // A WAIT timeout far above the promotion time: a WAIT sent again to the promoted master (which has
        // no replica yet) that waited it out would show as a stall of promotion + 5 s or more.
        const durability = { replicas: 1, timeout: 5_000 };
        const sender = await DurableChannel.open("fo-sender", { connection: shape.connection(), prefix, durability });
        const errors: BerryError[] = [];
        // When each report came, for the message of a failure (two reports for one SIGKILL were seen in CI).
        const reportedAt: number[] = [];
        sender.on("error", (error) => {
          errors.push(error);
          reportedAt.push(performance.now());
        });
        const worker = runFixture("durable-worker.ts", [shape.argument(), prefix, "fo-worker", "reply", "10000", "", JSON.stringify(durability)]);
        // Stopped even when an assertion fails: a live worker, sender or collector would keep the spec
        // process alive until its timeout.
        let stopped = false;
        t.after(async () => {
          stopped = true;
          await worker.kill();
          await sender.end().catch(() => undefined);
        });
        await worker.line("ready");
        const outcomes = new Map<string, DurableMessage[]>();
        const acknowledged = new Map<string, SentMessage>();
        let rejected = 0;
        const closeErrors: string[] = [];
        let receiving = true;
        const collector = (async () => {
          while (!stopped && (receiving || outcomes.size < acknowledged.size)) {
            let message: DurableMessage;
            try {
              message = await sender.receive({ timeout: 500 });
            } catch {
              continue;
            }
            const about = message.inReplyTo ?? "";
            outcomes.set(about, [...(outcomes.get(about) ?? []), message]);
            // With durability the take of this reply is on the replica: the promoted master has it held here.
            await sender.close(message).catch((error: unknown) => void closeErrors.push(String(error)));
          }
        })();
        let killed: Promise<number> | undefined;
        let killedAt = Number.POSITIVE_INFINITY;
        let markKilled = (): void => {};
        const dead = new Promise<void>((resolve) => {
          markKilled = () => {
            killedAt = performance.now();
            resolve();
          };
        });
        let lastAck = performance.now();
        let stall = 0;
        let acknowledgedAfterKill = 0;
        const inFlight = new Set<Promise<void>>();
        let unconfirmed = 0;
        for (let i = 0; i < total; i++) {
          if (i === Math.floor(total / 4)) killed = shape.killMaster(prefix, markKilled);
          // The second half goes out once the master is dead (finding a synced master takes a while:
          // 200 at once finished every send before it died), so the kill always lands mid-stream; the
          // pause before it is not a stall.
          if (i === Math.floor(total / 2) && killedAt === Number.POSITIVE_INFINITY) {
            await dead;
            lastAck = killedAt;
          }
          const id = randomUUID();
          const send = sender
            .send({ i }, { to: "fo-worker", timeout: 15_000, id })
            .then(
              (sent) => {
                acknowledged.set(sent.id, sent);
                // Right after the promotion the new master has no replica yet: WAIT gives up after its timeout.
                if ((sent.replicas ?? 0) < durability.replicas) unconfirmed++;
                const now = performance.now();
                if (now > killedAt) acknowledgedAfterKill++;
                stall = Math.max(stall, now - lastAck);
                lastAck = now;
              },
              () => {
                rejected++;
              },
            )
            .finally(() => inFlight.delete(send));
          inFlight.add(send);
          if (inFlight.size >= window) await Promise.race(inFlight);
        }
        await Promise.all(inFlight);
        const promotion = await (killed as Promise<number>);
        await waitFor(
          () => [...acknowledged.keys()].every((id) => outcomes.has(id)),
          "an outcome for every acknowledged send",
          40_000,
        );
        await sleep(500);
        receiving = false;
        await collector;
        await sender.send("stop", { to: "fo-worker" });
        await worker.exit();
        await sender.end();
        const duplicates = [...outcomes.values()].filter((list) => list.length > 1).length;
        const lost = [...acknowledged.keys()].filter((id) => !outcomes.has(id)).length;
        const timeouts = [...outcomes.values()].filter((list) => list[0]?.kind === "timeout").length;
        console.log(
          `# ${shape.name} failover: promotion ${promotion} ms, longest stall between acknowledgements ${stall.toFixed(0)} ms, ${acknowledgedAfterKill} acknowledged after the kill, ${timeouts} timeout notices, ${unconfirmed} sends confirmed by no replica (the promoted master had none yet)`,
        );
        // The issue's goal is promotion + 1 s (met on a quiet machine: +0.3–0.5 s); the bound leaves room for a loaded one.
        assert.ok(stall <= promotion + 3_000, `stall ${stall.toFixed(0)} ms after a promotion of ${promotion} ms`);
        assert.ok(acknowledgedAfterKill >= total / 2, `only ${acknowledgedAfterKill} sends acknowledged after the kill: it did not land mid-stream`);
        assert.equal(rejected, 0, "sends rejected");
        assert.equal(acknowledged.size, total, "sends acknowledged");
        assert.equal(lost, 0, "acknowledged sends without an outcome");
        assert.equal(duplicates, 0, "messages with more than one outcome");
        assert.deepEqual(closeErrors, [], "replies the sender could not close");
        assert.deepEqual(
          errors.map((error) => error.code),
          ["REDIS_CONNECTION"],
          `one outage reported; got, in ms from the kill (promotion ${promotion} ms): ${errors.map((error, i) => `${((reportedAt[i] as number) - killedAt).toFixed(0)}: ${error.message}`).join(" | ")}`,
        );
      });

    it("RedisLink reports that messages may have been missed when its server fails over", async (t) => {
      const prefix = `fl-${randomUUID()}:`;
      const a = new Bus();
      const b = new Bus();
      const la = await RedisLink.connect({ bus: a, connection: shape.connection(), prefix });
      const lb = await RedisLink.connect({ bus: b, connection: shape.connection(), prefix });
      // Closed even when an assertion fails: open links would keep the spec process alive until its timeout.
      t.after(async () => {
        await la.close();
        await lb.close();
        a.close();
        b.close();
      });
      const codes: string[] = [];
      const messages: string[] = [];
      lb.on("error", (error) => {
        codes.push(error.code);
        messages.push(error.message);
      });
      la.on("error", () => {});
      const got: Message[] = [];
      b.follow("fl:*", (m) => void got.push(m));
      await shape.killServerOf(`berrymq-link-sub:${b.id}`);
      await waitFor(() => codes.includes("REDIS_MESSAGES_MAY_BE_LOST"), "the loss reported", 15_000);
      // Still linked after the failover.
      for (let tries = 0; got.length === 0; tries++) {
        assert.ok(tries < 150, "a message gets through after the failover");
        a.twitter("fl:after");
        await sleep(100);
      }
      // Exactly once: one subscriber connection closed, by the kill. (r26 saw a second report naming the
      // promoted master: the specs' Sentinel group had failed over a second time ~1 s after the promotion,
      // demoting it and closing the subscriber's connection there. r27 found and removed that cause, see
      // pingPeriod in spec/helpers/redis-sentinel.ts; sentinel.spec's failMaster throws if it happens.)
      const losses = messages.filter((_, i) => codes[i] === "REDIS_MESSAGES_MAY_BE_LOST");
      assert.equal(losses.length, 1, `reported once; got: ${messages.join(" | ")}`);
      // It names the server the connection was to (through Sentinel, not the client's default localhost:6379).
      assert.match(messages[codes.indexOf("REDIS_MESSAGES_MAY_BE_LOST")] ?? "", /connection to (127\.0\.0\.1|::ffff:127\.0\.0\.1):(?!6379\b)\d+ closed|sharded subscriber/);
    });
  });
}
