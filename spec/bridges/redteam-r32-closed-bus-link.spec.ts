// Red team r32 (found by the request/response red team): a bus closed while its link stays open. Every message
// arriving on the link afterwards was reported as a BusClosedError, one per frame (17 for 50 messages over a
// RedisLink), as process warnings since a closed bus has no listeners; and the link's connections kept the
// process running for ever. Now the first is reported, once, the link closes itself, and the rest are counted
// in stats.rejected (until the link's subscriber is gone). The child (this file, with R32_CLOSED_BUS set) closes its bus only, and must exit by itself
// once a message arrives.
import assert from "node:assert/strict";
import { it } from "node:test";
import { RedisLink } from "../../bridges/redis/redis-link.js";
import { Bus } from "../../lib/bus.js";
import { startRedis } from "../helpers/redis-server.js";
import { runSelf } from "../helpers/self-child.js";
import { waitFor } from "../helpers/wait-for.js";

const CHILD = "R32_CLOSED_BUS";
const PREFIX = "r32-closed-bus:";

const given = process.env[CHILD];
if (given !== undefined) {
  const bus = new Bus();
  const link = await RedisLink.connect({ bus, connection: given, prefix: PREFIX });
  bus.close(); // the link is left open: a message arriving must not keep this process running
  console.log("closed");
  await link.ready;
} else {
  it("red team: a closed bus's open RedisLink reports once, counts the rest and closes itself", { timeout: 20_000 }, async (t) => {
    const redis = await startRedis();
    const [closed, busy] = [new Bus(), new Bus()];
    const [closedLink, busyLink] = await Promise.all([
      RedisLink.connect({ bus: closed, connection: redis.url, prefix: PREFIX }),
      RedisLink.connect({ bus: busy, connection: redis.url, prefix: PREFIX }),
    ]);
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on("warning", onWarning);
    t.after(async () => {
      process.off("warning", onWarning);
      await closedLink.close();
      await busyLink.close();
      busy.close();
      await redis.stop();
    });
    const reports: Error[] = [];
    closedLink.on("error", (error) => void reports.push(error));
    closed.close();
    for (let i = 0; i < 50; i++) {
      busy.twitter("traffic:tick", i);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor(() => closedLink.closing, "the link closing itself");
    await closedLink.close(); // the close it started: its subscriber gone, nothing arrives after
    assert.ok(closedLink.stats.rejected >= 1, `rejected ${closedLink.stats.rejected}`);
    const said = [...reports, ...warnings].filter((error) => /closed/.test(error.message));
    assert.equal(said.length, 1, `${reports.length} reports, ${warnings.length} warnings: ${said.map((e) => e.message).join("; ")}`);
    assert.match(said[0]?.message ?? "", /bus .* is closed: a message arrived on link .*, which closes itself/);
    assert.equal(closedLink.stats.received, 0);
  });

  it("red team: a process that closed its bus, not its RedisLink, exits once a message arrives", { timeout: 20_000 }, async (t) => {
    const redis = await startRedis();
    const bus = new Bus();
    const link = await RedisLink.connect({ bus, connection: redis.url, prefix: PREFIX });
    t.after(async () => {
      await link.close();
      bus.close();
      await redis.stop();
    });
    const child = runSelf(import.meta.url, { [CHILD]: redis.url }, (out) => out.includes("closed"), 15_000);
    // Until the child's process ends, a message now and then (the child may not have subscribed yet).
    let ended = false;
    void child.then(() => {
      ended = true;
    });
    while (!ended) {
      bus.twitter("traffic:tick", 1);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const { code, err } = await child;
    assert.equal(code, 0, `the child exited ${String(code)} (hung: it still ran after 15 s): ${err}`);
    assert.match(err, /bus .* is closed: a message arrived on link/, "the one warning names what happened");
  });
}
