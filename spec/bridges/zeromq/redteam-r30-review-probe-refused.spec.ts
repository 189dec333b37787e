// Red team r30 review: a BrokerLink down with nothing left to send asks the broker with a HELLO (its
// probeTransport). A broker that refuses that HELLO (this link's patterns past its maxPatterns, or no room
// left under maxClients) is up, and takes this link's batches all the same (a PUBLISH needs no welcome): the
// refusal was taken for no answer, and the link stayed `isDown`, probing for ever, until its bus sent again.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Broker, BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import type { BerryError } from "../../../lib/errors.js";
import { within } from "../../../lib/request.js";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";

describe("red team r30 review: a BrokerLink probe the broker answers with a refusal", () => {
  it("tells `up` (the broker answered), reports the refusal, and its batches then go", async (t) => {
    const ports = { pubPort: await freePort(), recvPort: await freePort() };
    let broker = await Broker.start(ports);
    t.after(() => broker.close());
    const link = await BrokerLink.connect({
      bus: new Bus(),
      ...ports,
      importFilters: ["r30:one", "r30:two"],
      heartbeatInterval: 100,
      sendTimeout: 300,
      retryDelay: { initial: 20, max: 100 },
    });
    const errors: BerryError[] = [];
    link.on("error", (error) => void errors.push(error));
    t.after(() => link.close());
    let ups = 0;
    link.on("up", () => void ups++);

    await broker.close();
    await link.bus.ask("r30:ask", 1, within({ timeout: 200 })).catch(() => undefined);
    await waitFor(() => link.isDown && link.backlog === 0, "down, the ended ask taken out unsent", 10_000);

    // Back, but refusing this link's two patterns.
    broker = await Broker.start({ ...ports, maxPatterns: 1 });
    broker.on("error", () => {}); // its report of each HELLO it refuses
    await waitFor(() => !link.isDown, "up: the broker answered the probe (with a refusal)", 5_000);
    assert.equal(ups, 1);
    await waitFor(
      () => errors.some((error) => error.message.includes("refused this link's subscriptions")),
      "the refusal reported",
      5_000,
    );

    // The broker takes this link's batches though it refused its patterns (its receipt confirms them):
    // `up` told the truth.
    const sent = link.stats.sent;
    link.bus.twitter("r30:sent", 1);
    await waitFor(() => link.stats.sent === sent + 1, "the batch confirmed", 5_000);
    assert.equal(link.isDown, false);
    assert.equal(ups, 1);
  });
});
