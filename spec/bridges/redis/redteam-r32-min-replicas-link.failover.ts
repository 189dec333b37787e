// Red team r32: two RedisLinks (defaults: replyless publishing) across a planned Sentinel failover
// (SENTINEL FAILOVER; the fence, min-replicas-to-write 1, does not apply to PUBLISH). Held (no fix needed).
import { describe, it } from "node:test";
import { linkAcross } from "./r32-failover-streams.js";
import { fencedGroup } from "./r32-fenced-group.js";

const { connection, plannedFailover } = fencedGroup();

describe("redteam r32: planned sentinel failover, a RedisLink", () => {
  it("RedisLink (defaults, replyless publishing): every message sent across SENTINEL FAILOVER is delivered or its loss reported", { timeout: 40_000 }, async (t) => {
    const { missing, reportedLoss } = await linkAcross(connection, () => plannedFailover(), (fn) => t.after(fn));
    console.log(`# link: ${missing} missing, loss reported: ${reportedLoss}`);
  });
});
