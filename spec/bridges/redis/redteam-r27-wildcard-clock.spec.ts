// Red team r27: on a Cluster, a sharded RedisLink PUBLISHes (besides SPUBLISH) only while the wildcard
// registry lists a live link with wildcard filters. Registrations were leases on each host's clock: a
// publisher whose clock ran more than a lease (30 s) ahead of the registered link's took its registration
// for expired, SPUBLISHed only, and that link's wildcard followers got nothing, without a report. Now the
// leases run on Redis's clock (TIME in a script), as the durable channel's do.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, it } from "node:test";
import { RedisLink } from "../../../bridges/redis/redis-link.js";
import { Bus } from "../../../lib/bus.js";
import { QUICK_SYNC, type RedisCluster, startCluster } from "../../helpers/redis-cluster.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { runFixture } from "./fixtures/run-fixture.js";

let cluster: RedisCluster;
before(async () => {
  cluster = await startCluster(QUICK_SYNC);
});
after(async () => {
  await cluster?.stop();
});

it("red team: a wildcard follower on a host whose clock is 60 s behind the publisher's still gets every message", {
  timeout: 90_000,
}, async (t) => {
  const prefix = `wc-${randomUUID()}:`;
  const connection = { cluster: [...cluster.startupNodes] };
  const peer = runFixture("skewed-wildcard-link.ts", [JSON.stringify(connection), prefix, "-60000"]);
  t.after(() => peer.kill());
  await peer.line("ready", 30_000);
  const bus = new Bus();
  const link = await RedisLink.connect({ bus, connection, prefix, sharded: true, importFilters: [] });
  t.after(() => link.close());
  // Past the publisher's first read of the registry (until then it publishes both ways).
  await sleep(1_000);
  for (let i = 0; i < 5; i++) {
    bus.twitter("job:run", i);
    await sleep(50);
  }
  await waitFor(
    () => peer.lines.filter((line) => line.startsWith("got ")).length >= 5,
    "5 messages at the skewed peer",
    5_000,
  ).catch(() => {});
  assert.deepEqual(
    peer.lines.filter((line) => line.startsWith("got ")),
    ["got 0", "got 1", "got 2", "got 3", "got 4"],
  );
});
