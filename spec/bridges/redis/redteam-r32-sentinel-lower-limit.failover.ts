// Red team r32: a Sentinel failover to a master configured with a lower proto-max-bulk-len while replyless
// batches wait unconfirmed (the old master paused writes, then was killed): the new socket, on the promoted
// master, reads its limits before writing them again, so a message over its limit is left out and reported
// (UNSENDABLE, stats.lost) and the others arrive. The receiver listens on the replica (promoted in place:
// its subscriber is never cut), so that what the sender does is all that is asserted.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { Redis } from "ioredis";
import { RedisLink } from "../../../bridges/redis/index.js";
import type { BerryError } from "../../../lib/errors.js";
import { Bus } from "../../../lib/index.js";
import { QUICK_HEALING, startSentinelGroup } from "../../helpers/redis-sentinel.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

describe("RedisLink replyless: a Sentinel failover to a master with a lower proto-max-bulk-len (red team r32)", () => {
  it("a held message over the new master's limit is reported lost, the others arrive", async (t) => {
    const group = await startSentinelGroup({ downAfter: 1_000, ...QUICK_HEALING });
    const undo: (() => unknown)[] = [() => group.stop()];
    t.after(async () => {
      for (const step of undo.reverse()) await step();
    });
    const [master, replica] = group.servers;
    assert.ok(master !== undefined && replica !== undefined);
    const onReplica = new Redis(replica.url);
    undo.push(() => onReplica.disconnect());
    // Not replicated: the replica's own setting.
    await onReplica.config("SET", "proto-max-bulk-len", "1mb");
    const prefix = `r32-${randomUUID()}:`;
    const sender = new Bus();
    const reports: BerryError[] = [];
    sender.on("error", (error) => reports.push(error));
    const out = await RedisLink.connect({ bus: sender, connection: { sentinels: [...group.sentinelAddresses], name: group.name }, prefix });
    undo.push(() => out.close());
    const receiver = new Bus();
    receiver.on("error", () => {});
    const into = await RedisLink.connect({ bus: receiver, connection: replica.url, prefix, importFilters: ["n:*"] });
    undo.push(() => into.close());
    const got: number[] = [];
    receiver.follow("n:*", (m) => void got.push(m.args[0] as number));
    sender.twitter("n:x", 0);
    await waitFor(() => got.length === 1, "message 0");
    await sleep(100); // its batch confirmed
    assert.equal(out.publishPath, "replyless");
    const onMaster = new Redis(master.url);
    onMaster.on("error", () => {});
    await onMaster.call("CLIENT", "PAUSE", "30000", "WRITE");
    onMaster.disconnect();
    sender.twitter("n:x", 1);
    sender.twitter("n:x", 2, "x".repeat(1_100_000));
    sender.twitter("n:x", 3);
    await sleep(200); // written, held by the pause
    await group.failMaster();
    // The failover takes ~2-5 s alone; under a full suite's load it took more than 15 s once.
    await waitFor(() => got.length === 3, "messages 1 and 3 from the promoted master", 40_000);
    assert.deepEqual(got, [0, 1, 3]);
    const unsendable = reports.filter((error) => error.code === "UNSENDABLE");
    assert.equal(unsendable.length, 1, `reports: ${reports.map((error) => error.message)}`);
    assert.match(unsendable[0]?.message ?? "", /proto-max-bulk-len \(1048576\)/);
    assert.equal(out.stats.lost, 1);
    assert.equal(out.publishPath, "replyless");
  });
});
