// Red team r32 (run-time subscriptions): `await link.subscribe(filter)` resolved at once when the filter was
// already an import filter whose PSUBSCRIBE was still on its way (an earlier subscribe not awaited, or a
// follower of an `importFilters: "followers"` link that had just added it): a message published right after
// it resolved was missed. And a "followers" link had no way to know a new follower's subscription was in
// place. Here the receiving link's subscriber connection reaches Redis through a forwarder that holds its
// bytes back 400 ms once armed, so a PSUBSCRIBE is late, always.
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { after, before, it } from "node:test";
import { RedisLink } from "../../../bridges/redis/redis-link.js";
import { Bus } from "../../../lib/bus.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { sleep } from "../../helpers/wait-for.js";
import { tappedForwarder } from "../jsonrpc/tapped-forwarder.js";

const HOLD = 400;
let server: RedisServer;
before(async () => {
  server = await startRedis();
});
after(async () => {
  await server.stop();
});

// A receiving link through a forwarder that delays what its subscriber connection sends once `slow()` was
// called (in order: each chunk waits for the one before), and a sending link connected directly.
async function slowSubscriberPair(t: { after(fn: () => Promise<void>): void }, importFilters: readonly string[] | "followers", id: string) {
  const prefix = `r32-sub-${id}-${process.pid}:`;
  let armed = false;
  const forwarder = await tappedForwarder(server.port, () => {
    let last = Promise.resolve();
    let subscriber = false;
    return {
      toTarget: (chunk: Buffer, upstream: Socket) => {
        if (chunk.includes(`berrymq-link-sub:${id}`)) subscriber = true;
        if (!subscriber || !armed) {
          last = last.then(() => void upstream.write(chunk));
          return;
        }
        // HOLD ms after it came, in order (not HOLD ms after the chunk before: no backlog builds up).
        const due = Date.now() + HOLD;
        last = last.then(() => sleep(Math.max(0, due - Date.now()))).then(() => void upstream.write(chunk));
      },
    };
  });
  const bus = new Bus({ id });
  const link = await RedisLink.connect({ bus, connection: `redis://127.0.0.1:${new URL(forwarder.url).port}`, prefix, importFilters });
  const sender = await RedisLink.connect({ bus: new Bus({ id: `${id}-sender` }), connection: server.url, prefix, importFilters: [] });
  t.after(async () => {
    await sender.close();
    await link.close();
    await forwarder.close();
  });
  armed = true;
  return { bus, link, sender };
}

it("red team: await subscribe(filter) while the same filter's PSUBSCRIBE is under way resolves once it is in place", { timeout: 20_000 }, async (t) => {
  const { bus, link, sender } = await slowSubscriberPair(t, [], "r32-sub-again");
  const got: number[] = [];
  bus.follow("job:*", (m) => void got.push(m.args[0] as number));
  const first = link.subscribe("job:*"); // not awaited (say, another part of the program)
  await link.subscribe("job:*");
  sender.bus.twitter("job:run", 1);
  await first;
  await sleep(300);
  assert.deepEqual(got, [1], "the message sent once subscribe() resolved");
});

it('red team: an importFilters: "followers" link says when a new follower\'s subscription is in place (subscriptionsApplied)', { timeout: 20_000 }, async (t) => {
  const { bus, link, sender } = await slowSubscriberPair(t, "followers", "r32-sub-followers");
  const got: number[] = [];
  const stop = bus.follow("job:run", (m) => void got.push(m.args[0] as number));
  await link.subscriptionsApplied();
  sender.bus.twitter("job:run", 1);
  await sleep(300);
  assert.deepEqual(got, [1], "the message sent once subscriptionsApplied() resolved");
  // And after an unfollow: nothing subscribed for it at Redis once it resolved.
  stop();
  await link.subscriptionsApplied();
  assert.deepEqual(link.patterns.filter((pattern) => pattern.includes("job")), []);
});
