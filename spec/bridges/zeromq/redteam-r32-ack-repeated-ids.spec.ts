// r32 red team: an ACK frame naming one held message over and over, from a client that changed its patterns
// (the broker keeps its last 8 replaced pattern sets, so that a client that unsubscribed as it handled a
// message still releases it). Each id not matched now was checked against every replaced set again: one
// frame of 880 KB naming a held id 100,000 times held the broker's event loop up for 8 s.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toCompactEnvelope } from "../../../bridges/compact-envelope.js";
import { toEnvelope } from "../../../bridges/envelope.js";
import { Broker } from "../../../bridges/zeromq/index.js";
import { createMessage } from "../../../lib/message.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { rawClient } from "./broker-helpers.js";

describe("zeromq broker: an ack frame repeating a held id (r32)", () => {
  it("is handled in time proportional to the held messages it names, not to its length", { timeout: 60_000 }, async (t) => {
    const broker = await Broker.start({ pubPort: 0, recvPort: 0, resendInterval: 60_000 });
    t.after(() => broker.close());
    broker.on("error", () => undefined);
    const publisher = await rawClient(broker.pubPort, broker.recvPort, "00000000000000a1");
    t.after(() => publisher.close());
    await publisher.hello(["none:none"]);
    const ids = Array.from({ length: 20 }, (_, i) => `raw/${i}`);
    const lines = ids.map((messageId) =>
      JSON.stringify(toCompactEnvelope(toEnvelope(createMessage({ identifier: "job:run", args: [1], messageId, hops: ["raw"] })))),
    );
    await publisher.dealer.send(["P", JSON.stringify(["1", "", ...ids.flatMap((id) => ["job:run", id, 1])]), lines.join("\n")]);
    await waitFor(() => broker.held === ids.length, "the messages held");
    // A client whose 9 HELLOs replaced 8 pattern sets of 1,000 patterns, none matching job:run.
    const attacker = await rawClient(broker.pubPort, broker.recvPort, "00000000000000a2");
    t.after(() => attacker.close());
    for (let version = 1; version <= 9; version++) {
      await attacker.hello(
        Array.from({ length: 1_000 }, (_, k) => `p${version}x${k}:b`),
        version,
      );
      await waitFor(() => attacker.welcomes.includes(String(version)), `welcome ${version}`);
    }
    let longest = 0;
    let last = performance.now();
    const gauge = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 5);
    t.after(() => clearInterval(gauge));
    const rejectedBefore = broker.stats.rejected;
    const repeats = 200_000;
    await attacker.dealer.send(["A", JSON.stringify(Array.from({ length: repeats }, (_, k) => ids[k % ids.length]))]);
    await waitFor(() => broker.stats.rejected - rejectedBefore === repeats, "the ack frame handled", 50_000);
    await sleep(50);
    clearInterval(gauge);
    assert.equal(broker.held, ids.length, "none released: the client was never sent them");
    // ~20 ms with the fix; 16 s before it. Generous for a loaded machine.
    assert.ok(longest < 2_000, `the broker's event loop was held up ${Math.round(longest)} ms by one ack frame`);
  });
});
