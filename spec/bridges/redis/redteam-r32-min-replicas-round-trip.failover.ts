// Red team r32: a durable round trip (a worker replying, a sender closing the replies) across a planned
// Sentinel failover (SENTINEL FAILOVER) with the data nodes fenced by `min-replicas-to-write 1`.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { sleep } from "../../helpers/wait-for.js";
import { fencedGroup, WINDOW } from "./r32-fenced-group.js";

const { connection, plannedFailover } = fencedGroup();

describe("redteam r32: planned sentinel failover, min-replicas-to-write 1, a durable round trip", () => {
  it("DurableChannel (no durability): a worker replying and a sender closing the replies across it", { timeout: 40_000 }, async (t) => {
    const prefix = `pr-${randomUUID()}:{pr}:`;
    const sender = await DurableChannel.open("pr-sender", { connection: connection(), prefix });
    const worker = await DurableChannel.open("pr-worker", { connection: connection(), prefix });
    const errors: string[] = [];
    sender.on("error", (e) => errors.push(`sender ${e.code}: ${e.message}`));
    worker.on("error", (e) => errors.push(`worker ${e.code}: ${e.message}`));
    let running = true;
    t.after(async () => {
      running = false;
      await sender.end().catch(() => undefined);
      await worker.end().catch(() => undefined);
    });
    const failures: string[] = [];
    const working = (async () => {
      while (running) {
        const task = await worker.receive({ timeout: 300 }).catch(() => undefined);
        if (task !== undefined) await worker.reply(task, "done").catch((e: unknown) => void failures.push(`reply: ${String(e)}`));
      }
    })();
    const outcomes = new Map<string, number>();
    const collecting = (async () => {
      while (running) {
        const answer = await sender.receive({ timeout: 300 }).catch(() => undefined);
        if (answer === undefined) continue;
        outcomes.set(answer.inReplyTo ?? "", (outcomes.get(answer.inReplyTo ?? "") ?? 0) + 1);
        await sender.close(answer).catch((e: unknown) => void failures.push(`close: ${String(e)}`));
      }
    })();
    const acknowledged: string[] = [];
    let sent = 0;
    let N = Number.POSITIVE_INFINITY;
    const inFlight = new Set<Promise<void>>();
    for (let i = 0; i < N; i++) {
      const p = sender
        .send({ i }, { to: "pr-worker", timeout: 20_000 })
        .then((s) => void acknowledged.push(s.id), (e: unknown) => void failures.push(`send: ${String(e)}`))
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= 10) await Promise.race(inFlight);
      sent = i + 1;
      if (i === 50) void plannedFailover().then(() => { N = sent + 50; }, () => { N = 0; });
      if (i % 10 === 9) await sleep(10);
    }
    await Promise.all(inFlight);
    const deadline = Date.now() + 10_000;
    while (acknowledged.some((id) => !outcomes.has(id)) && Date.now() < deadline) await sleep(50);
    running = false;
    await Promise.all([working, collecting]);
    const without = acknowledged.filter((id) => !outcomes.has(id)).length;
    const twice = [...outcomes.values()].filter((n) => n > 1).length;
    const reports = errors.filter((e) => !e.includes("REDIS_CONNECTION"));
    console.log(`# round trip: N ${N} acknowledged ${acknowledged.length} without outcome ${without} twice ${twice} failures ${failures.length} ${failures.slice(0, 2)} reports ${reports.length} ${reports.slice(0, 2).join(" | ").slice(0, 300)}`);
    // A reply or close may find its message queued again (NotHeldError): Redis's window took its take back.
    const rejected = failures.filter((failure) => !/^(reply|close): NotHeldError/.test(failure));
    assert.deepEqual(rejected.slice(0, 3), [], "sends, closes or replies rejected (3 first)");
    assert.ok(failures.length - rejected.length <= WINDOW, `${failures.length - rejected.length} replies or closes NotHeld`);
    // Each channel's sweep refused by the fence: once per refusing master (the old one, then the promoted
    // one until it has a replica) or so, not every 100 ms (46-48 reports before r32).
    assert.ok(reports.length <= 6, `${reports.length} reports: ${reports.slice(0, 3).join(" | ")}`);
    // Without an outcome yet: a message whose take was taken back waits for its timeout (20 s) here.
    assert.ok(without <= WINDOW && twice <= WINDOW, `${without} without an outcome, ${twice} with two`);
  });
});
