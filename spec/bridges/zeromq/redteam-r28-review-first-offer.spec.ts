// r28 review: the held messages offered to a client on its first HELLO were neither bounded by
// maxSubscriberQueueBytes nor counted: the broker learnt the client answers marks (feature "k") only after
// the HELLO was handled, offer included. A newcomer (or a client forgotten and back) whose patterns matched
// everything held was sent all of it (up to maxUnackedBytes) and the broker then counted nothing unread, so
// as much again could queue behind it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { boundedBroker } from "../../helpers/bounded-broker.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

const BOUND = 256 * 1024;
const MAX = 64 * 1024;
const COUNT = 100;
const SIZE = 10_000; // ~1 MB held, four times the bound

describe("zeromq broker: the offer on a client's first HELLO is bounded by maxSubscriberQueueBytes (r28 review)", () => {
  it("a newcomer that answers marks but reads none is sent about the bound of what is held, not all of it", {
    timeout: 60_000,
  }, async (t) => {
    const { broker, sender, rawClient } = await boundedBroker(t, {
      bound: BOUND,
      // The offer goes in DELIVERs of at most this (one of the whole offer would go, nothing being unread).
      maxMessageBytes: MAX,
      acknowledge: ["job:*"],
      // No resend during the test: only the offer reaches the newcomer.
      broker: { resendInterval: 600_000 },
    });
    // A raw client saying feature "k" that never answers a mark (a stopped subscriber, as far as the
    // broker can tell).
    const client = rawClient();
    const data = "x".repeat(SIZE);
    for (let i = 0; i < COUNT; i++) sender.bus.twitter("job:run", data);
    await waitFor(() => broker.held === COUNT, "every message held (no subscriber yet)", 20_000);
    // Its PUB path is up (it hears beats) before its first HELLO: what the broker sends it arrives.
    await client.heard();
    await client.hello("rck");
    await waitFor(() => client.delivered > 0, "the offer", 10_000);
    await sleep(1_000);
    t.diagnostic(`the newcomer was sent ${client.delivered} of ${COUNT} held messages; ${broker.stats.slowDropped} deliveries dropped`);
    // The bound holds ~26 of them (one DELIVER of up to maxMessageBytes goes while nothing is unread).
    assert.ok(client.delivered * SIZE <= 2 * BOUND, `sent ${client.delivered} messages of ${SIZE} bytes, bound ${BOUND}`);
    assert.ok(broker.stats.slowDropped > 0, "the rest of the offer is dropped past the bound");
  });
});
