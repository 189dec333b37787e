// Red team (r23): many receivers on one durable prefix. Every open channel swept every 100 ms, and each
// sweep read the lease of every receiver of the prefix: n channels cost about 6 n^2 Redis commands a
// second, idle (200: 247,000 a second, 39% of a Redis core). The first sweep of an interval now holds the
// others off (P sweeping, for half the interval), and a sweep times out up to 10 batches of due messages,
// so that timeouts keep up with fewer sweeps.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { withClient } from "../../helpers/redis-probe.js";
import { startRedis } from "../../helpers/redis-server.js";
import { sleep } from "../../helpers/wait-for.js";

it("red team: 150 idle receivers on one prefix cost Redis a bounded number of commands a second; timeouts still come once each", {
  timeout: 120_000,
}, async (t) => {
  const own = await startRedis({ own: true });
  const prefix = `r23-${randomUUID()}:{durable}:`;
  const channels: DurableChannel[] = [];
  t.after(async () => {
    await Promise.all(channels.map((channel) => channel.end()));
    await own.stop();
  });
  for (let i = 0; i < 15; i++)
    channels.push(
      ...(await Promise.all(
        Array.from({ length: 10 }, (_, j) => DurableChannel.open(`idle-${i}-${j}`, { connection: own.url, prefix })),
      )),
    );
  const processed = (): Promise<number> =>
    withClient(own.port, async (admin) => Number(/total_commands_processed:(\d+)/.exec(await admin.info("stats"))?.[1]));
  await sleep(1_000);
  const before = await processed();
  const started = performance.now();
  await sleep(3_000);
  const rate = ((await processed()) - before) / ((performance.now() - started) / 1_000);
  // Without the hold: about 6 * 150^2 = 135,000 a second; with it, about 8,000 (measured).
  assert.ok(rate < 40_000, `Redis ran ${Math.round(rate)} commands a second for 150 idle receivers`);

  // 1,500 messages time out together: one notice each, none lost or doubled, though fewer sweeps run.
  const sender = channels[0] as DurableChannel;
  await Promise.all(Array.from({ length: 1_500 }, (_, i) => sender.send(i, { to: "nobody", timeout: 200 })));
  const notices = new Set<unknown>();
  for (let i = 0; i < 1_500; i++) {
    const notice = await sender.receive({ timeout: 10_000 });
    assert.equal(notice.kind, "timeout");
    assert.ok(!notices.has(notice.content), `one notice for message ${String(notice.content)}`);
    notices.add(notice.content);
    await sender.close(notice);
  }
  assert.equal(notices.size, 1_500);
});

it("red team: a channel with a long sweepInterval on the prefix does not hold off the others' sweeps (timeouts stay prompt)", {
  timeout: 30_000,
}, async (t) => {
  const own = await startRedis({ own: true });
  const prefix = `r23-${randomUUID()}:{durable}:`;
  const slow = await DurableChannel.open("slow-sweeper", { connection: own.url, prefix, sweepInterval: 4_000 });
  const opened = performance.now();
  const sender = await DurableChannel.open("sender", { connection: own.url, prefix });
  t.after(async () => {
    await Promise.all([slow.end(), sender.end()]);
    await own.stop();
  });
  // Right after the slow channel's first sweep (4 s after it opened): its hold, half its interval
  // before r23 (2 s), would keep the sender's sweeps off.
  await sleep(4_150 - (performance.now() - opened));
  const sent = await sender.send("lost", { to: "nobody", timeout: 100 });
  const start = performance.now();
  const notice = await sender.receive({ timeout: 10_000 });
  const late = performance.now() - start;
  assert.equal(notice.inReplyTo, sent.id);
  assert.ok(late < 1_000, `the timeout notice came ${Math.round(late)} ms after the send (timeout 100 ms)`);
});
