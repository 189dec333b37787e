// Red team r30, review 4: the broker lets a client acknowledge a held message its replaced patterns
// matched, if the message was held before the change. "Before" was told by Date.now(): a message held in
// the same millisecond after the HELLO that replaced them (or any while the wall clock stood stepped back
// behind that HELLO) counted as held before, and a client it was never sent to released it.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { toCompactEnvelope } from "../../../bridges/compact-envelope.js";
import { toEnvelope } from "../../../bridges/envelope.js";
import { Broker } from "../../../bridges/zeromq/index.js";
import { createMessage } from "../../../lib/message.js";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";

// A three-frame PUBLISH of one acknowledged message.
function publish(seq: string, identifier: string, messageId: string): string[] {
  const line = JSON.stringify(
    toCompactEnvelope(toEnvelope(createMessage({ identifier, args: [seq], kwargs: {}, messageId, hops: ["raw"] }))),
  );
  return ["P", JSON.stringify([seq, "", identifier, messageId, 1]), line];
}

async function setUp(t: { after: (fn: () => unknown) => void }) {
  const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort(), resendInterval: 60_000 });
  const errors: Error[] = [];
  broker.on("error", (error) => void errors.push(error));
  const id = randomBytes(8).toString("hex");
  const dealer = new zmq.Dealer({ routingId: id, linger: 0 });
  dealer.connect(`tcp://127.0.0.1:${broker.recvPort}`);
  const sub = new zmq.Subscriber({ linger: 0 });
  sub.connect(`tcp://127.0.0.1:${broker.pubPort}`);
  sub.subscribe(id);
  const welcomes: string[] = [];
  void (async () => {
    try {
      for await (const [first] of sub) {
        const fields = first?.toString().split(" ") ?? [];
        if (fields[1] === "W") welcomes.push(fields[3] ?? "");
      }
    } catch {
      // closed
    }
  })();
  t.after(() => {
    dealer.close();
    sub.close();
    broker.close();
  });
  // Registered with a pattern that matches none of the jobs, once its SUB hears the welcome.
  while (welcomes.length === 0) {
    await dealer.send(["H", JSON.stringify(["none:none"]), "0", "c"]);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const hello = async (patterns: string[], version: string): Promise<void> => {
    await dealer.send(["H", JSON.stringify(patterns), version, "c"]);
  };
  const receipt = async (): Promise<string> => {
    const [kind, seq] = await dealer.receive();
    assert.equal(kind?.toString(), "R");
    return seq?.toString() ?? "";
  };
  return { broker, dealer, errors, welcomes, hello, receipt };
}

describe("zeromq broker: red team r30 review 4 (acknowledgements under replaced patterns)", () => {
  it("a message held right after the HELLO that dropped a client's matching pattern (same millisecond) is not released by that client's ack", {
    timeout: 20_000,
  }, async (t) => {
    const { broker, dealer, welcomes, hello, receipt } = await setUp(t);
    const rounds = 6;
    for (let round = 1; round <= rounds; round++) {
      await hello(["job:*"], `${2 * round}`);
      await waitFor(() => welcomes.includes(`${2 * round}`), "welcomed with job:*");
      // In order on one connection, handled in one turn: the PUBLISH comes after the change, in the same ms.
      await hello(["none:none"], `${2 * round + 1}`);
      await dealer.send(publish(`s${round}`, "job:run", `late/${round}`));
      assert.equal(await receipt(), `s${round}`);
      const rejected = broker.stats.rejected;
      await dealer.send(["A", JSON.stringify([`late/${round}`])]);
      await waitFor(() => broker.stats.rejected > rejected || broker.stats.acked > 0, "the ack handled");
    }
    // Before: most (usually all) were released by a client whose patterns never matched while they were held.
    assert.equal(broker.stats.acked, 0, "no message held after the change was released by it");
    assert.equal(broker.held, rounds);
  });

  it("a message held before the change is still released by that client's ack (the r30 fix holds)", { timeout: 10_000 }, async (t) => {
    const { broker, dealer, welcomes, hello, receipt } = await setUp(t);
    await hello(["job:*"], "1");
    await waitFor(() => welcomes.includes("1"), "welcomed with job:*");
    await dealer.send(publish("s1", "job:run", "early/1"));
    assert.equal(await receipt(), "s1");
    await hello(["none:none"], "2");
    await waitFor(() => welcomes.includes("2"), "welcomed without it");
    await dealer.send(["A", JSON.stringify(["early/1"])]);
    await waitFor(() => broker.stats.acked === 1, "released");
    assert.equal(broker.held, 0);
    assert.equal(broker.stats.rejected, 0);
  });
});
