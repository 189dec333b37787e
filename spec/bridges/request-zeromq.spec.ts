// Request/response through a ZeroMQ broker (BrokerLink), the answering bus in a child process.
import { Broker, BrokerLink } from "../../bridges/zeromq/index.js";
import { Bus } from "../../lib/bus.js";
import { freePort } from "../helpers/free-port.js";
import { requestConformance } from "./link-conformance.js";

requestConformance("zeromq", async () => {
  const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
  const bus = new Bus({ id: "rq-parent-zeromq" });
  const link = await BrokerLink.connect({ bus, pubPort: broker.pubPort, recvPort: broker.recvPort });
  return {
    bus,
    peer: { transport: "zeromq", pubPort: broker.pubPort, recvPort: broker.recvPort },
    close: async () => {
      await link.close();
      bus.close();
      broker.close();
    },
  };
});
