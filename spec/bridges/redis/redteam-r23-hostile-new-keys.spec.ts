// Red team (r23): the keys this round added to a durable prefix (`P finished`, `P instance`, `P sweeping`)
// written by another client with another type, or as a string without a TTL. None may fail or stop a
// finish, a heartbeat or the sweeps (as redteam-r20-durable-hostile-keys for the older keys).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import type { BerryError } from "../../../lib/errors.js";
import { withClient } from "../../helpers/redis-probe.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { sleep } from "../../helpers/wait-for.js";

let server: RedisServer;
before(async () => {
  server = await startRedis();
});
after(async () => {
  await server.stop();
});

for (const [what, write] of [
  ["another type under each name", ["finished", "instance", "sweeping"]],
  ["a string without a TTL under P sweeping", ["sweeping-string"]],
] as const) {
  it(`red team: ${what}: finishes, heartbeats and timeouts go on, nothing is reported`, { timeout: 30_000 }, async (t) => {
    const prefix = `r23-${randomUUID()}:{durable}:`;
    await withClient(server.port, async (admin) => {
      for (const key of write) {
        if (key === "finished") await admin.set(`${prefix}finished`, "not a sorted set");
        if (key === "instance") await admin.hset(`${prefix}instance`, "not", "a string");
        if (key === "sweeping") await admin.rpush(`${prefix}sweeping`, "not a string");
        if (key === "sweeping-string") await admin.set(`${prefix}sweeping`, "1");
      }
    });
    const options = { connection: server.url, prefix, lease: 600 };
    const sender = await DurableChannel.open("sender", options);
    const worker = await DurableChannel.open("worker", options);
    t.after(() => Promise.all([sender.end(), worker.end()]));
    const errors: BerryError[] = [];
    for (const channel of [sender, worker]) channel.on("error", (error) => void errors.push(error));

    const sent = await sender.send("job", { to: "worker", timeout: 10_000 });
    const job = await worker.receive({ timeout: 5_000 });
    await worker.close(job);
    const ttl = await withClient(server.port, (admin) => admin.pttl(`${prefix}m:${sent.id}`));
    assert.ok(ttl > 0, `the finished record is kept, with a TTL (${ttl})`);
    const lost = await sender.send("lost", { to: "nobody", timeout: 300 });
    const notice = await sender.receive({ timeout: 5_000 });
    assert.deepEqual([notice.kind, notice.inReplyTo], ["timeout", lost.id], "the sweeps time messages out");
    await sender.close(notice);
    await sleep(1_000); // heartbeats (every 200 ms)
    assert.deepEqual(
      errors.map((error) => error.message),
      [],
    );
  });
}

it("red team: finishedRecords that is not an integer >= 0 is refused, naming the value", () => {
  for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "5" as unknown as number]) {
    assert.throws(
      () => new DurableChannel("bad", { connection: server.url, prefix: "r23:{durable}:", finishedRecords: bad }),
      (error: BerryError) => error.code === "INVALID_ARGUMENT" && error.message.includes("finishedRecords"),
      String(bad),
    );
  }
});
