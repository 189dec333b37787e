// Red team r27: a durable channel's heartbeat went with its sweep, every sweepInterval. A receiver with a
// sweepInterval longer than its lease (sweepInterval 3 s to spare Redis, lease 900 ms for a quick hand-over
// when a worker dies) let its lease run out between beats while alive: the other channels' sweeps gave its
// message to another receiver, and its reply got NotHeldError. Beats now run at a third of the lease
// whatever the sweepInterval.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { startRedis } from "../../helpers/redis-server.js";
import { sleep } from "../../helpers/wait-for.js";

it("red team: a live receiver whose sweepInterval (3 s) is longer than its lease (900 ms) keeps its message", {
  timeout: 30_000,
}, async (t) => {
  const redis = await startRedis({ own: true });
  t.after(() => redis.stop());
  const prefix = `r27-${randomUUID()}:{durable}:`;
  const sender = await DurableChannel.open("sender", { connection: redis.url, prefix });
  const worker = await DurableChannel.open("worker", { connection: redis.url, prefix, lease: 900, sweepInterval: 3_000 });
  t.after(() => Promise.all([sender.end(), worker.end()]));
  const sent = await sender.send({ task: 1 }, { to: "worker", timeout: 20_000 });
  const task = await worker.receive({ timeout: 2_000 });
  await sleep(2_500);
  await worker.reply(task, "done");
  const reply = await sender.receive({ timeout: 2_000 });
  assert.equal(reply.inReplyTo, sent.id);
});
