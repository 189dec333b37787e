// Red team r32 (held): the subscriber connection's PING (see redteam-r32-dead-subscriber) waits through a
// CLIENT PAUSE ALL shorter than its timeout: nothing is cut, reported or missed.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SUBSCRIBER_PING_INTERVAL } from "../../../bridges/redis/subscriber-liveness.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { subscriberPair } from "./subscriber-pair.js";

describe("RedisLink: the subscriber's PING through a CLIENT PAUSE (red team r32)", () => {
  it("held: CLIENT PAUSE ALL shorter than the PING timeout loses nothing and cuts nothing", async (t) => {
    const { got, lost, raw, sent } = await subscriberPair(t);
    // Paused across a PING: the subscriber's PING waits, answered once the pause ends.
    await raw.call("CLIENT", "PAUSE", String(SUBSCRIBER_PING_INTERVAL), "ALL");
    await sleep(SUBSCRIBER_PING_INTERVAL + 1_000);
    const last = sent();
    await waitFor(() => (got.at(-1) ?? 0) >= last, "every message sent", 5_000);
    assert.deepEqual(lost(), []);
    assert.deepEqual(
      got,
      Array.from({ length: got.length }, (_, i) => (got[0] ?? 0) + i),
      "none missed",
    );
  });
});
