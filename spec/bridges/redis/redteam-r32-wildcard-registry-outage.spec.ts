// Red team r32 (run-time subscriptions, Cluster with `sharded: true`): a link with a wildcard filter is in the
// registry `<prefix>berrymq-wildcards`, so that publishers PUBLISH (which its PSUBSCRIBE sees) as well as
// SPUBLISH. When the Cluster comes back without that key (every node started again without its data here;
// a failover to a replica that lacked it does the same), the link registered again only at its next
// renewal, up to 10 s later (RENEW), and meanwhile publishers that read the empty registry SPUBLISHed only:
// its wildcard filter got nothing. Now it registers again as soon as its subscriptions are back.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { Cluster } from "ioredis";
import { RedisLink } from "../../../bridges/redis/redis-link.js";
import { Bus } from "../../../lib/bus.js";
import { QUICK_SYNC, type RedisCluster, startCluster } from "../../helpers/redis-cluster.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

/** How often a registered link renews its registration (RENEW in wildcard-registry.ts), in ms. */
const RENEW = 10_000;

let cluster: RedisCluster;
before(async () => {
  cluster = await startCluster(QUICK_SYNC);
});
after(async () => {
  await cluster?.stop();
});

it("red team: a wildcard link registers again as soon as the Cluster is back without its registry, and gets what is published", {
  timeout: 120_000,
}, async (t) => {
  const connection = { cluster: [...cluster.startupNodes] };
  const admin = new Cluster([...cluster.startupNodes], { lazyConnect: true });
  t.after(() => void admin.disconnect());
  // An outage is tried again (with a fresh link) when the Cluster came back too late to tell the fix from the
  // renewal: on a loaded machine (a full suite) it came back ~7 s after the registration, and the link's
  // reconnection took the rest. Without the fix every attempt fails: it registers again only at RENEW.
  let outcome = "";
  for (let attempt = 1; attempt <= 3; attempt++) {
    const prefix = `r32-registry-${process.pid}-${attempt}:`;
    const worker = new Bus({ id: `r32-registry-worker-${attempt}` });
    const publisher = new Bus({ id: `r32-registry-publisher-${attempt}` });
    for (const bus of [worker, publisher]) bus.on("error", () => {}); // the outage is reported on each
    const got: number[] = [];
    worker.follow("w:*", (m) => void got.push(m.args[0] as number));
    const link = await RedisLink.connect({ bus: worker, connection, prefix, sharded: true, importFilters: ["w:*"] });
    // Registered (and its renewal timer started) now: the next renewal is RENEW ms later.
    const registeredAt = Date.now();
    const sender = await RedisLink.connect({ bus: publisher, connection, prefix, sharded: true, importFilters: [] });
    t.after(async () => {
      await sender.close();
      await link.close();
    });
    const registry = `${prefix}berrymq-wildcards`;
    assert.notEqual(await admin.zscore(registry, worker.id), null, "registered at connect");

    await Promise.all(cluster.nodes.map((node) => node.kill()));
    await Promise.all(cluster.nodes.map((node) => node.restart())); // without the data: no registry
    await cluster.waitHealthy(20_000);
    const backAt = Date.now() - registeredAt;

    let registered = false;
    while (!registered && Date.now() - registeredAt < RENEW - 500) {
      registered = await admin.zscore(registry, worker.id).then((score) => score !== null, () => false);
      if (!registered) await sleep(100);
    }
    outcome = `attempt ${attempt}: the Cluster back ${backAt} ms after the registration, registered again: ${registered ? "yes" : "no"} by ${Date.now() - registeredAt} ms`;
    if (!registered && backAt > RENEW - 6_000 && attempt < 3) {
      await sender.close();
      await link.close();
      continue; // too little time left before the renewal to tell
    }
    assert.ok(registered, `registered again before its next renewal (${RENEW} ms after the first): ${outcome}`);

    // And what is published reaches the wildcard filter (the publisher hears the announcement, or reads the
    // registry at its next check, 5 s at most).
    let i = 0;
    const sending = setInterval(() => publisher.twitter("w:x", i++), 100);
    t.after(() => clearInterval(sending));
    await waitFor(() => got.length > 0, "w:x at the wildcard follower", 10_000);
    return;
  }
  assert.fail(outcome);
});
