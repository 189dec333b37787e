// The broker client passes the shared link conformance suite: two buses, each with a BrokerLink, through
// one real broker on 127.0.0.1.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus } from "../../../lib/bus.js";
import { Broker, BrokerLink } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { linkConformance } from "../link-conformance.js";

linkConformance("zeromq", async () => {
  const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
  const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort };
  const a = new Bus({ id: "zmq-a" });
  const b = new Bus({ id: "zmq-b" });
  const linkA = await BrokerLink.connect({ bus: a, ...ports });
  const linkB = await BrokerLink.connect({ bus: b, ...ports });
  return {
    a,
    b,
    async close() {
      await linkA.close();
      await linkB.close();
      broker.close();
    },
  };
});

// A broker link has no single far bus (no remoteBusId): only the link itself keeps what it injects from
// going back out through it, for plain and for acknowledged messages.
describe("zeromq link: a received message is not sent back", () => {
  it("forwards nothing it received, so the sender never gets its own messages back", async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
    const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort };
    const sender = await BrokerLink.connect({ bus: new Bus(), ...ports, acknowledge: ["echo:acked"] });
    const receiver = await BrokerLink.connect({ bus: new Bus(), ...ports });
    t.after(async () => {
      await sender.close();
      await receiver.close();
      broker.close();
    });
    const got: string[] = [];
    receiver.bus.follow("echo:*", (m) => void got.push(m.id));
    for (let i = 0; i < 20; i++) sender.bus.twitter(i % 2 === 0 ? "echo:plain" : "echo:acked", i);
    await waitFor(() => got.length === 20 && receiver.brokerStats.acksSent === 10, "all 20 received, the 10 acknowledged ones acknowledged");
    await sleep(200);
    assert.equal(receiver.stats.received, 20);
    assert.equal(receiver.stats.sent, 0, "the receiving link sent none of them back");
    assert.equal(sender.stats.duplicates, 0, "the sender heard none of its own messages");
  });
});
