// Red team r31: Link.close() called twice (a shutdown handler and a `finally`, say): the second call resolved
// at once with nothing undelivered, while the first still flushed the buffer and closed the transport. A
// process that awaited it and had nothing else to do ran on: a RedisLink on a hung Redis (SIGSTOPped) 7 s
// (closeTimeout, then the 5 s QUIT bound), reporting its losses after the caller thought it closed; a PeerLink
// or BrokerLink to a paused peer 2 s. It is the first call's promise now. The child (this file, with
// R31_LINK_TWICE set) must exit by itself within EXIT_BOUND ms of its second close() resolving.
import assert from "node:assert/strict";
import { it } from "node:test";
import { RedisLink } from "../../bridges/redis/redis-link.js";
import { Bus } from "../../lib/bus.js";
import { startRedis } from "../helpers/redis-server.js";
import { runSelf } from "../helpers/self-child.js";

const CHILD = "R31_LINK_TWICE";
// Before the fix the child exited 7,200-7,500 ms after the second close() resolved.
const EXIT_BOUND = 1_500;

const given = process.env[CHILD];
if (given !== undefined) {
  const [url, pid] = given.split(" ") as [string, string];
  const bus = new Bus();
  const link = await RedisLink.connect({ bus, connection: url, exportFilters: ["app:*"], closeTimeout: 500 });
  link.on("error", () => {}); // the losses close() reports: expected here
  process.kill(Number(pid), "SIGSTOP"); // Redis hangs: the batch below is never confirmed
  bus.twitter("app:log", 1);
  let first = "pending";
  void link.close().then(({ undelivered }) => {
    first = `resolved, ${undelivered.length} undelivered`;
  });
  const second = await link.close();
  bus.close();
  console.log(JSON.stringify({ first, second: `${second.undelivered.length} undelivered` }));
} else {
  it("red team: a link closed twice on a hung Redis: the second close() waits for the first, and the process then exits", { timeout: 20_000 }, async (t) => {
    const redis = await startRedis({ own: true });
    t.after(async () => {
      if (redis.pid !== undefined) process.kill(redis.pid, "SIGCONT");
      await redis.stop();
    });
    const { out, err, code, exitAfter } = await runSelf(import.meta.url, { [CHILD]: `${redis.url} ${redis.pid}` }, (text) => text.includes("\n"), 15_000);
    assert.equal(code, 0, `the child exited ${String(code)}: ${err}`);
    assert.ok(exitAfter < EXIT_BOUND, `the child exited ${Math.round(exitAfter)} ms after its second close() resolved: ${out}`);
    assert.match(out, /"first":"resolved/, "the first close() had resolved too");
  });
}
