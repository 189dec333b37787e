// r31 (found by the process-hang red team, not fixed there): `BrokerLink.connect()` with no broker answering
// rejected with "broker at ... did not confirm a batch within 5000 ms", which reads as a send that failed
// (nothing had been sent). It says what timed out now: the broker's welcome of the link connecting.
import assert from "node:assert/strict";
import { it } from "node:test";
import { BrokerLink, BrokerTimeoutError } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/index.js";
import { freePort } from "../../helpers/free-port.js";

it("red team r31: BrokerLink.connect with no broker says the welcome timed out, not a batch", async (t) => {
  const bus = new Bus();
  t.after(() => bus.close());
  const error = await BrokerLink.connect({
    bus,
    pubPort: await freePort(),
    recvPort: await freePort(),
    connectTimeout: 300,
  }).then(
    () => assert.fail("connected"),
    (failure: unknown) => failure,
  );
  assert.ok(error instanceof BrokerTimeoutError);
  assert.equal(error.code, "BROKER_TIMEOUT");
  assert.match(error.message, /did not welcome this link \(connect\) within 300 ms/);
});
