// Schemas at the BrokerLink boundary: a far process (no schemas) sends invalid payloads through a real
// ZeroMQ broker on 127.0.0.1; this bus refuses them before any follower (see schema-conformance.ts).
import { it } from "node:test";
import { Broker, BrokerLink } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { runFixture } from "../redis/fixtures/run-fixture.js";
import { assertOnlyValidDelivered, FAR_MESSAGES, linkErrors, schemaBus } from "../schema-conformance.js";

it("BrokerLink: invalid payloads from a far process are counted, reported with the issues, never delivered", async () => {
  const ports = { pubPort: await freePort(), recvPort: await freePort() };
  const broker = await Broker.start({ ...ports, heartbeatInterval: 100 });
  const { bus, seen } = schemaBus("zmq-schemas");
  const link = await BrokerLink.connect({ bus, ...ports, heartbeatInterval: 100 });
  const errors = linkErrors(link);
  const sender = runFixture("../../fixtures/schema-sender.ts", ["zeromq", JSON.stringify({ ...ports, messages: FAR_MESSAGES })]);
  try {
    await sender.line("sent");
    await assertOnlyValidDelivered(link, seen, errors, 0);
  } finally {
    await sender.kill();
    await link.close();
    bus.close();
    broker.close();
  }
});
