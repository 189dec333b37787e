import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";
import { Bus } from "../../../lib/bus.js";
import type { BerryError } from "../../../lib/errors.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

// Each test kills the redis-server under the clients, so each has a server of its own.
let server: RedisServer;
before(async () => {
  server = await startRedis({ aof: true, own: true });
});
after(async () => {
  await server.stop();
});

const codes = (errors: BerryError[]): string[] => errors.map((error) => error.code);

describe("connection loss", () => {
  it("DurableChannel reports it once per outage (error event, else a process warning) and recovers", async () => {
    const prefix = `c-${randomUUID()}:{durable}:`;
    const sender = await DurableChannel.open("loss-sender", { connection: server.url, prefix });
    const worker = await DurableChannel.open("loss-worker", { connection: server.url, prefix });
    const unheard = await DurableChannel.open("loss-unheard", { connection: server.url, prefix });
    const senderErrors: BerryError[] = [];
    const workerErrors: BerryError[] = [];
    sender.on("error", (error) => void senderErrors.push(error));
    worker.on("error", (error) => void workerErrors.push(error));
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on("warning", onWarning);
    const pending = worker.receive({ timeout: 20_000 }); // blocked in Redis when it dies
    await sleep(50);
    await server.kill();
    await waitFor(() => senderErrors.length > 0 && workerErrors.length > 0 && warnings.length > 0, "connection loss reported", 5_000);
    await sleep(500); // ioredis retries meanwhile, each failing: still one report
    assert.deepEqual(codes(senderErrors), ["REDIS_CONNECTION"]);
    assert.deepEqual(codes(workerErrors), ["REDIS_CONNECTION"]);
    assert.deepEqual(warnings.map((warning) => (warning as BerryError).code), ["REDIS_CONNECTION"], "no listener: a process warning");
    await server.restart();
    const sent = await sender.send("after", { to: "loss-worker", timeout: 10_000 });
    const task = await pending;
    assert.deepEqual([task.id, task.content], [sent.id, "after"], "the receive blocked through the outage gets the message");
    await worker.reply(task, "ok");
    const reply = await sender.receive({ timeout: 5_000 });
    assert.deepEqual([reply.kind, reply.inReplyTo], ["reply", sent.id]);
    await sender.close(reply);
    process.off("warning", onWarning);
    assert.deepEqual(codes(senderErrors), ["REDIS_CONNECTION"], "nothing more once recovered");
    await Promise.all([sender.end(), worker.end(), unheard.end()]);
  });

  it("a live receiver keeps what it holds through an outage longer than its lease (the outage does not count)", async () => {
    const prefix = `c-${randomUUID()}:{durable}:`;
    const options = { connection: server.url, prefix, lease: 1_000 };
    const sender = await DurableChannel.open("lease-sender", options);
    const worker = await DurableChannel.open("lease-worker", options);
    const sent = await sender.send("job", { to: "lease-worker", timeout: 60_000 });
    const task = await worker.receive({ timeout: 5_000 });
    // Another receiver of the same channel: it would get the message if the worker's lease were taken as run out.
    const other = await DurableChannel.open("lease-worker", options);
    for (const channel of [sender, worker, other]) channel.on("error", () => {});
    const stolen = other.receive({ timeout: 8_000 }).then(
      (message) => message.id,
      () => undefined,
    );
    await server.kill();
    await sleep(3_000); // three leases
    await server.restart();
    await sleep(1_500); // sweeps run again meanwhile (every 100 ms, from all three channels)
    await worker.reply(task, "done"); // NotHeldError if it had been requeued
    const reply = await sender.receive({ timeout: 5_000 });
    assert.deepEqual([reply.kind, reply.inReplyTo, reply.content], ["reply", sent.id, "done"]);
    await sender.close(reply);
    assert.equal(await stolen, undefined, "nobody else got the message");
    await Promise.all([sender.end(), worker.end(), other.end()]);
  });

  it("RedisQueue reports it once per outage (error event, else the bus) and recovers", async () => {
    const prefix = `c-${randomUUID()}:`;
    const bus = new Bus();
    const quiet = new Bus();
    const busErrors: BerryError[] = [];
    quiet.on("error", (error) => void busErrors.push(error));
    const queue = new RedisQueue("job:*", { bus, connection: server.url, prefix });
    const unheard = new RedisQueue("job:*", { bus: quiet, connection: server.url, prefix, feed: false });
    const queueErrors: BerryError[] = [];
    queue.on("error", (error) => void queueErrors.push(error));
    const pending = unheard.get({ timeout: 20_000 }); // blocked in Redis when it dies
    await sleep(50);
    await server.kill();
    await waitFor(() => queueErrors.length > 0 && busErrors.length > 0, "connection loss reported", 5_000);
    await sleep(500);
    assert.deepEqual(codes(queueErrors), ["REDIS_CONNECTION"]);
    assert.deepEqual(codes(busErrors), ["REDIS_CONNECTION"], "no listener: the bus's report()");
    await server.restart();
    await waitFor(() => queue.closed === false && queue.stats.failed === 0, "queue still open");
    await sleep(200); // let the feeding client reconnect: a push while it is still down fails and is reported
    bus.twitter("job:after", 1);
    const message = await pending;
    assert.deepEqual([message.id, message.args], ["job:after", [1]], "the get blocked through the outage gets the message");
    await waitFor(() => queue.stats.pushed === 1, "the push acknowledged");
    assert.deepEqual(codes(queueErrors), ["REDIS_CONNECTION"], "nothing more once recovered");
    await Promise.all([queue.close(), unheard.close()]);
    bus.close();
    quiet.close();
  });
});
