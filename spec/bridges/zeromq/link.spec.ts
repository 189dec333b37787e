// The broker client passes the shared link conformance suite: two buses, each with a BrokerLink, through
// one real broker on 127.0.0.1.
import { Bus } from "../../../lib/bus.js";
import { Broker, BrokerLink } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
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
