// r28 review: the broker took a client's echo of a mark only if it was a safe integer (at most 2^53 - 1),
// while its marks are the bytes it sent the client so far, a count that only grows. A subscriber sent
// 8 PiB (~100 days at 1 GB/s) was sent marks past it: every echo was then refused as "no byte count", the
// subscriber was full for good (every delivery to it dropped, nothing broadcast to anyone) and each echo
// was reported as a protocol error. No spec can send 8 PiB: this one echoes such a mark, as a BrokerLink
// echoes what it is sent, and checks it is taken as a byte count (one past what was sent is ignored),
// while what is no byte count is still refused.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { Broker } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

describe("zeromq broker: echoes of marks past 2^53 (r28 review)", () => {
  it("are byte counts, not protocol errors; negative, fractional and non-numeric ones are refused", {
    timeout: 30_000,
  }, async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
    const errors: string[] = [];
    broker.on("error", (error) => void errors.push(error.message));
    const clientId = randomBytes(8).toString("hex");
    const dealer = new zmq.Dealer({ routingId: clientId, linger: 0 });
    t.after(() => {
      dealer.close();
      broker.close();
    });
    dealer.connect(`tcp://127.0.0.1:${broker.recvPort}`);
    await dealer.send(["H", JSON.stringify(["job:*"]), "0", "rck"]);
    await waitFor(() => broker.clients === 1, "the client registered", 10_000);
    // What String() writes for counts past 2^53, as the broker writes its marks.
    for (const bytes of [String(2 ** 53 + 2), String(2 ** 60), String(2 ** 70)]) await dealer.send(["K", bytes]);
    await sleep(300);
    assert.deepEqual(errors, [], "an echo of a mark past 2^53 is a byte count");
    assert.equal(broker.stats.rejected, 0);
    for (const bytes of ["-1", "1.5", "abc", "Infinity"]) await dealer.send(["K", bytes]);
    await waitFor(() => broker.stats.rejected === 4, "the four bad echoes refused", 5_000);
  });
});
