// Red team r30: a receiver whose process stops (SIGSTOP, a frozen VM, an event loop blocked by a handler)
// keeps its connections, so its BLMOVE stays blocked in Redis for up to its slice (1 s). With a lease shorter
// than that, the sweep found the receiver dead and forgot it (its consumer entry and lease deleted) while its
// BLMOVE was still blocked: the next message sent moved into the dead receiver's held list, which no sweep
// looked at again. Killed then (SIGKILL from a supervisor), the message was lost for ever: never given to
// the live receiver, never timed out to its sender either (its deadline ran out: the expire only moves it).
// The sweep now watches the held lists of the receivers it requeued for a minute (P gone).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { it } from "node:test";
import { Redis } from "ioredis";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { clientsNamed } from "../../helpers/redis-clients.js";
import { startRedis } from "../../helpers/redis-server.js";
import { sleep } from "../../helpers/wait-for.js";
import { runFixture } from "./fixtures/run-fixture.js";

it("red team: a message a stopped receiver's BLMOVE moved after its lease ran out reaches a live receiver once", {
  timeout: 60_000,
}, async (t) => {
  const redis = await startRedis({ own: true });
  t.after(() => redis.stop());
  const prefix = `r30-${randomUUID()}:{durable}:`;
  const admin = new Redis(redis.url);
  t.after(() => admin.disconnect());
  const sender = await DurableChannel.open("desk", { connection: redis.url, prefix });
  t.after(() => sender.end());
  sender.on("error", () => {});

  let sentId: string | undefined;
  let doomedConsumer: string | undefined;
  // The stopped receiver's BLMOVE must still be blocked once the sweep forgot it: its slice left is
  // anywhere from 0 to 1 s when it stops, so a try whose BLMOVE ended first is made again.
  for (let attempt = 0; attempt < 8 && sentId === undefined; attempt++) {
    const doomed = runFixture("durable-worker.ts", [redis.url, prefix, "crew", "reply", "150"]);
    t.after(() => doomed.kill());
    await doomed.line("ready");
    let blocked: string[] = [];
    for (let i = 0; i < 200 && blocked.length === 0; i++) {
      blocked = (await clientsNamed(redis.port, "berrymq-durable-block:crew/")).filter((line) => line.includes("cmd=blmove"));
      if (blocked.length === 0) await sleep(5);
    }
    const consumer = /name=berrymq-durable-block:(\S+)/.exec(blocked[0] ?? "")?.[1];
    assert.ok(consumer !== undefined, "the worker's blocking connection is found");
    process.kill(doomed.child.pid as number, "SIGSTOP");
    // The sender's sweep finds the stopped worker's lease run out and forgets it.
    for (let i = 0; i < 400 && (await admin.hexists(`${prefix}consumers`, consumer)) === 1; i++) await sleep(5);
    const still = (await clientsNamed(redis.port, `berrymq-durable-block:${consumer}`)).some((line) =>
      line.includes("cmd=blmove"),
    );
    if (!still) {
      await doomed.kill();
      continue;
    }
    const id = (await sender.send("job", { to: "crew" })).id;
    // Moved into the stopped worker's held list by its BLMOVE, then the worker dies.
    for (let i = 0; i < 200 && (await admin.llen(`${prefix}in:crew`)) > 0; i++) await sleep(5);
    await doomed.kill();
    if ((await admin.lrange(`${prefix}held:${consumer}`, 0, -1)).includes(id)) {
      sentId = id;
      doomedConsumer = consumer;
    } else {
      // Its BLMOVE ended just before the send: this try shows nothing, its message goes.
      await admin.lrem(`${prefix}in:crew`, 0, id);
    }
  }
  assert.ok(
    sentId !== undefined && doomedConsumer !== undefined,
    "a stopped worker's BLMOVE was still blocked once it was forgotten",
  );

  const survivor = await DurableChannel.open("crew", { connection: redis.url, prefix, lease: 150 });
  t.after(() => survivor.end());
  survivor.on("error", () => {});
  const task = await survivor.receive({ timeout: 5_000 });
  assert.equal(task.id, sentId, "the message the dead worker's BLMOVE moved is given to the live one");
  await survivor.reply(task, "done");
  const reply = await sender.receive({ timeout: 5_000 });
  assert.deepEqual([reply.kind, reply.inReplyTo], ["reply", sentId]);
  await sender.close(reply);
  await assert.rejects(survivor.receive({ timeout: 500 }), { name: "ReceiveTimeoutError" }, "given once");
  assert.equal(await admin.exists(`${prefix}held:${doomedConsumer}`), 0, "nothing left in the dead worker's held list");
});
