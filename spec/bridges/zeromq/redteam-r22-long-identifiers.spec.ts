// Red team r22: a client publishing under long identifiers. The broker caches the route of each
// identifier it sees; the cache was bounded in entries (10,000), not in size.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { Broker } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { heapUsed } from "../../helpers/heap.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

describe("zeromq broker: red team r22 (long identifiers)", () => {
  it("red team: 100 unacknowledged messages under distinct 1 MB identifiers do not leave 100 MB in the broker's route cache", {
    timeout: 30_000,
  }, async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
    broker.on("error", () => undefined);
    const dealer = new zmq.Dealer({ routingId: randomBytes(8).toString("hex"), linger: 0 });
    dealer.connect(`tcp://127.0.0.1:${broker.recvPort}`);
    t.after(() => {
      dealer.close();
      broker.close();
    });
    await sleep(100);
    const before = heapUsed();
    const name = "n".repeat(1_000_000);
    for (let i = 0; i < 100; i++) {
      // A body line the broker routes on the head unread (policy 0): only the identifier matters.
      await dealer.send(["P", JSON.stringify([`s${i}`, "", `${name}:a${i}`, "", 0]), "[]"]);
    }
    await waitFor(() => broker.stats.received === 100, "the 100 messages received", 20_000);
    const grown = heapUsed() - before;
    assert.ok(grown < 40_000_000, `the broker kept ${Math.round(grown / 1e6)} MB after 100 MB of identifiers went through it`);
  });
});
