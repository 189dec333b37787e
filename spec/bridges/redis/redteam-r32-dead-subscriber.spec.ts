// Red team r32: RedisLink's probe PINGed only its publisher. A pattern subscriber connection that died
// without a TCP close (a dead link: nothing passes, nothing is closed) looked subscribed for as long as the
// kernel kept it: every message published meanwhile was missed, nothing reported. Its connection is now
// PINGed every 5 s, cut when a PING goes unanswered for 5 s: reported (REDIS_MESSAGES_MAY_BE_LOST), and
// subscribed again.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SUBSCRIBER_PING_INTERVAL, SUBSCRIBER_PING_TIMEOUT } from "../../../bridges/redis/subscriber-liveness.js";
import { waitFor } from "../../helpers/wait-for.js";
import { subscriberPair } from "./subscriber-pair.js";

describe("RedisLink: a dead subscriber connection (red team r32)", () => {
  it("a subscriber connection gone silent is cut, reported and subscribed again within PING interval + timeout", async (t) => {
    const { relay, got, lost, sent } = await subscriberPair(t);
    relay.silence("berrymq-link-sub:");
    const silenced = performance.now();
    const lastBefore = sent();
    // Before: no report, and no message after the silence, for ever.
    const bound = SUBSCRIBER_PING_INTERVAL + SUBSCRIBER_PING_TIMEOUT + 3_000;
    await waitFor(() => lost().length === 1 && (got.at(-1) ?? 0) > lastBefore + 2, "the report, then messages again", bound);
    assert.match(lost()[0]?.message ?? "", /answered no PING within 5000 ms/);
    assert.ok(performance.now() - silenced < bound);
  });

  it("held: CLIENT KILL TYPE pubsub is seen at once (Redis closes it), reported and subscribed again", async (t) => {
    const { got, lost, raw, sent } = await subscriberPair(t);
    await raw.call("CLIENT", "KILL", "TYPE", "pubsub");
    const lastBefore = sent();
    await waitFor(() => lost().length === 1 && (got.at(-1) ?? 0) > lastBefore + 2, "the report, then messages again", 5_000);
  });
});
