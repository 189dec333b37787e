// Red team r22: a client sending junk as fast as it can. Each bad frame was an `error` event (with no
// listener, a process warning on stderr; the CLI writes a line for each, to a pipe that blocks the
// broker when its reader falls behind).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { Broker, BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";

describe("zeromq broker: red team r22 (junk flood)", () => {
  it("red team: 5,000 junk frames become at most 10 error events a second, every one counted (stats.rejected, stats.unreported), and a link still talks through the broker", {
    timeout: 30_000,
  }, async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
    let events = 0;
    broker.on("error", () => {
      events++;
    });
    const dealer = new zmq.Dealer({ routingId: randomBytes(8).toString("hex"), linger: 0, sendHighWaterMark: 100_000 });
    dealer.connect(`tcp://127.0.0.1:${broker.recvPort}`);
    const bus = new Bus();
    const got: unknown[] = [];
    bus.follow("echo:*", (m) => void got.push(m.args[0]));
    const link = await BrokerLink.connect({ bus, pubPort: broker.pubPort, recvPort: broker.recvPort, importFilters: ["echo:*"] });
    const other = await BrokerLink.connect({
      bus: new Bus(),
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      importFilters: ["none:none"],
    });
    t.after(async () => {
      dealer.close();
      await link.close();
      await other.close();
      broker.close();
    });
    const started = performance.now();
    const kinds = ["Z", "A", "P"]; // unknown kind, an ACK that is no JSON array, a PUBLISH without its frames
    for (let i = 0; i < 5_000; i++) await dealer.send([kinds[i % 3] as string, "{"]);
    await waitFor(() => broker.stats.rejected >= 5_000, "the 5,000 junk frames rejected", 20_000);
    const seconds = (performance.now() - started) / 1_000;
    assert.ok(events <= 10 * (Math.ceil(seconds) + 1), `${events} error events in ${seconds.toFixed(1)} s`);
    assert.equal(events + broker.stats.unreported, 5_000, "every junk frame either reported or counted as unreported");
    other.bus.twitter("echo:hi", "still here");
    await waitFor(() => got.includes("still here"), "a message through the broker after the flood", 10_000);
  });
});
