// Red team (r23): Redis restarted empty (no persistence), or flushed. Every durable record is gone: the
// message a worker held, the deadline that would have sent its sender a timeout notice. The channels used
// to report only the connection loss (REDIS_CONNECTION, as for a restart that kept everything) and went
// on: the sender waited for a reply or a notice that would never come, silently. The loss is now reported
// on every channel of the prefix (RedisDataLostError, naming it).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import { NotHeldError, ReceiveTimeoutError } from "../../../bridges/redis/errors.js";
import type { BerryError } from "../../../lib/errors.js";
import { withClient } from "../../helpers/redis-probe.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

let server: RedisServer;
before(async () => {
  server = await startRedis({ own: true });
});
after(async () => {
  await server.stop();
});

describe("RedisQueue: Redis restarted empty (red team r23)", () => {
  it("red team: the queued messages lost are reported (RedisDataLostError naming the queue); a restart with AOF is not", {
    timeout: 60_000,
  }, async (t) => {
    for (const aof of [false, true]) {
      const own = await startRedis({ own: true, aof });
      t.after(() => own.stop());
      const bus = new Bus();
      const queue = new RedisQueue("job:*", { bus, connection: own.url, name: `rt23-${randomUUID()}` });
      t.after(() => queue.close());
      const errors: BerryError[] = [];
      queue.on("error", (error) => void errors.push(error));
      bus.twitter("job:a", 1);
      bus.twitter("job:b", 2);
      await waitFor(() => queue.stats.pushed === 2, "both pushed");
      await own.restart();
      const size = await queue.qsize(); // connected again
      if (aof) {
        await sleep(1_000); // the mark is checked at the reconnection
        assert.equal(size, 2, "kept by AOF");
        assert.deepEqual(
          errors.filter((error) => error.code === "REDIS_DATA_LOST"),
          [],
        );
      } else {
        assert.equal(size, 0, "lost by the empty restart");
        await waitFor(() => errors.some((error) => error.code === "REDIS_DATA_LOST"), "the loss reported", 10_000);
        const lost = errors.filter((error) => error.code === "REDIS_DATA_LOST");
        assert.equal(lost.length, 1, "once");
        assert.ok(lost[0]?.message.includes(queue.key), lost[0]?.message);
      }
    }
  });
});

describe("durable channel: Redis restarted empty (red team r23)", () => {
  it("red team: every channel of the prefix reports the lost data, naming the prefix; the held message's close is refused", {
    timeout: 60_000,
  }, async (t) => {
    const prefix = `r23-${randomUUID()}:{durable}:`;
    const options = { connection: server.url, prefix, lease: 1_500 };
    const sender = await DurableChannel.open("sender", options);
    const worker = await DurableChannel.open("worker", options);
    t.after(() => Promise.all([sender.end(), worker.end()]));
    const errors = new Map<DurableChannel, BerryError[]>([
      [sender, []],
      [worker, []],
    ]);
    for (const [channel, list] of errors) channel.on("error", (error) => list.push(error));
    const sent = await sender.send("job", { to: "worker", timeout: 3_000 });
    const job = await worker.receive({ timeout: 5_000 });
    assert.equal(job.id, sent.id);

    await server.restart(); // SIGKILL, then a new server on the same port: no AOF, no RDB, so empty
    const lost = (channel: DurableChannel): BerryError | undefined =>
      errors.get(channel)?.find((error) => error.code === "REDIS_DATA_LOST");
    await waitFor(() => lost(sender) !== undefined && lost(worker) !== undefined, "both channels report the loss", 15_000);
    for (const channel of [sender, worker]) {
      const error = lost(channel) as BerryError;
      assert.match(error.message, new RegExp(prefix.replace(/[{}]/g, "\\$&")), "the report names the prefix");
      assert.equal(errors.get(channel)?.filter((e) => e.code === "REDIS_DATA_LOST").length, 1, "once per loss");
    }
    await assert.rejects(worker.close(job), NotHeldError, "the worker's close is refused: its record is gone");
    // What the report warns of: the sent message is neither answered nor timed out.
    await assert.rejects(sender.receive({ timeout: 4_000 }), ReceiveTimeoutError);

    // A flush by an operator is the same loss, reported again.
    await withClient(server.port, (admin) => admin.flushall());
    await waitFor(
      () => (errors.get(sender)?.filter((e) => e.code === "REDIS_DATA_LOST").length ?? 0) === 2,
      "the flush reported",
      10_000,
    );
  });

  it("red team: a restart that keeps the data (AOF) is only an outage, not a loss", { timeout: 60_000 }, async (t) => {
    const kept = await startRedis({ own: true, aof: true });
    t.after(() => kept.stop());
    const prefix = `r23-${randomUUID()}:{durable}:`;
    const channel = await DurableChannel.open("kept", { connection: kept.url, prefix, lease: 600 });
    t.after(() => channel.end());
    const errors: BerryError[] = [];
    channel.on("error", (error) => errors.push(error));
    const lease = (): Promise<number> =>
      withClient(kept.port, async (admin) => Number(await admin.hget(`${prefix}leases`, channel.consumer)));
    const beat = await lease();
    await kept.restart();
    await sleep(2_000); // heartbeats (every 200 ms) after the reconnection
    assert.ok((await lease()) > beat + 1_000, "the channel beat again after the restart");
    assert.deepEqual(
      errors.filter((error) => error.code === "REDIS_DATA_LOST"),
      [],
    );
  });
});
