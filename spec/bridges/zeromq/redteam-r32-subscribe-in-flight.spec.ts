// Red team r32 (run-time subscriptions): `await link.subscribe(filter)` resolved at once when the filter was
// already an import filter whose HELLO was still on its way to the broker (an earlier subscribe not awaited,
// or a follower of an `importFilters: "followers"` link that had just added it): a message sent right after
// it resolved was not routed to the link (the broker counted it unrouted). And a "followers" link had no way
// to know a new follower's subscription was in place. Here the receiving link's recv connection (its HELLOs)
// reaches the broker through a forwarder that holds its bytes back 400 ms once armed.
import assert from "node:assert/strict";
import type { Socket } from "node:net";
import { it } from "node:test";
import { Broker, BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep } from "../../helpers/wait-for.js";
import { tappedForwarder } from "../jsonrpc/tapped-forwarder.js";

const HOLD = 400;

async function slowHelloPair(t: { after(fn: () => Promise<void>): void }, importFilters: readonly string[] | "followers") {
  const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort(), heartbeatInterval: 100 });
  let armed = false;
  const forwarder = await tappedForwarder(broker.recvPort, () => {
    let last = Promise.resolve();
    return {
      toTarget: (chunk: Buffer, upstream: Socket) => {
        // Each chunk HOLD ms after it came, in order (not HOLD ms after the one before: no backlog builds up).
        const due = Date.now() + (armed ? HOLD : 0);
        last = last.then(() => sleep(Math.max(0, due - Date.now()))).then(() => void upstream.write(chunk));
      },
    };
  });
  const bus = new Bus({ id: "r32-zmq-receiver" });
  const recvPort = Number(new URL(forwarder.url).port);
  const link = await BrokerLink.connect({ bus, pubPort: broker.pubPort, recvPort, importFilters, sendTimeout: 3_000 });
  const sender = await BrokerLink.connect({ bus: new Bus(), pubPort: broker.pubPort, recvPort: broker.recvPort, importFilters: [] });
  t.after(async () => {
    await sender.close();
    await link.close();
    await forwarder.close();
    broker.close();
  });
  armed = true;
  return { bus, link, sender, broker };
}

it("red team: await subscribe(filter) while the same filter's HELLO is under way resolves once the broker welcomed it", { timeout: 20_000 }, async (t) => {
  const { bus, link, sender } = await slowHelloPair(t, []);
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
  const { bus, link, sender, broker } = await slowHelloPair(t, "followers");
  const got: number[] = [];
  const stop = bus.follow("job:run", (m) => void got.push(m.args[0] as number));
  await link.subscriptionsApplied();
  sender.bus.twitter("job:run", 1);
  await sleep(300);
  assert.deepEqual(got, [1], "the message sent once subscriptionsApplied() resolved");
  // And after an unfollow: the broker routes job:run here no more once it resolved.
  stop();
  await link.subscriptionsApplied();
  const unrouted = broker.stats.unrouted;
  sender.bus.twitter("job:run", 2);
  await sleep(300);
  assert.equal(broker.stats.unrouted, unrouted + 1, "job:run unrouted once the last follower left");
});
