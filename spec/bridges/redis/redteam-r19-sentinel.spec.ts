// Red team (r19): ioredis's "All sentinels are unreachable" after a pass that asked no sentinel is not
// counted as an outage; it must still be when ioredis gives up there (sentinelRetryStrategy → null).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { withClient } from "../../helpers/redis-probe.js";
import { QUICK_HEALING, type RedisSentinelGroup, startSentinelGroup } from "../../helpers/redis-sentinel.js";
import { settlesWithin, sleep } from "../../helpers/wait-for.js";

let group: RedisSentinelGroup;
before(async () => {
  // Healthy in about a second instead of several (QUICK_HEALING: the sentinels find each other with hello
  // messages every 500 ms): the test asserts what ioredis and the channel do, none of Sentinel's periods.
  group = await startSentinelGroup(QUICK_HEALING);
});
after(async () => {
  await group?.stop();
});

describe("redis outages through Sentinel: red team r19", () => {
  it("red team: an empty sentinel pass after which ioredis gives up (retry disabled) is reported, not swallowed", async (t) => {
    // One sentinel, not learning others: after the first lookup ioredis's cursor is at the end of its
    // list, so the reconnection after a cut starts with an empty pass; with sentinelRetryStrategy
    // giving null, ioredis ends the client there for good ("... and retry is disabled").
    const prefix = `rt2-${randomUUID()}:{durable}:`;
    const sentinel = group.sentinelAddresses[0] as { host: string; port: number };
    const channel = await DurableChannel.open("rt2-probe", {
      connection: { sentinels: [sentinel], name: group.name, updateSentinels: false, sentinelRetryStrategy: () => null },
      prefix,
    });
    const reports: string[] = [];
    channel.on("error", (error) => void reports.push(`${error.code}: ${error.message}`));
    // At most 3 s for end(), as before; settlesWithin clears its timer (a sleep(3_000) in the race kept the
    // process alive 3 s after the file's last test).
    t.after(() =>
      settlesWithin(
        channel.end().catch(() => undefined),
        3_000,
      ),
    );
    await channel.send("before", { to: "rt2-probe" });
    const master = await group.master();
    await withClient(master.port, async (client) => {
      const list = String(await client.client("LIST"));
      const ids = [...list.matchAll(/\bid=(\d+) .*\bname=berrymq-durable(?:-block)?:rt2-probe\//g)].map((m) => String(m[1]));
      assert.ok(ids.length >= 1, "the channel's connections, named");
      for (const id of ids) await client.client("KILL", "ID", id);
    });
    // The channel cannot reconnect any more: that is an outage, and its one report must come.
    // (a sweep failing on the closed connection says nothing of why: the cause is the lost connection)
    await sleep(3_000);
    const outages = reports.filter((report) => report.startsWith("REDIS_CONNECTION"));
    assert.equal(outages.length, 1, `one outage report: ${reports.join(" | ")}`);
  });
});
