// Red team r30: a BrokerLink down whose buffer held only requests that ended (they timed out while the
// broker was down, and left unsent) stayed `isDown` until the bus sent something again or a delivery came
// (r29's known gap: a BrokerLink has no neighbour list to probe with; the broker's welcomes and beats are
// not messages). Now it asks the broker itself (a HELLO, which the broker welcomes, with the backoff of its
// retries) and tells `up` once the broker answers, sending nothing.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Broker, BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { within } from "../../../lib/request.js";
import { RequestTimeoutError } from "../../../lib/request-errors.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

describe("red team r30: a quiet BrokerLink down with nothing left to send", () => {
  it("tells `up` once the broker answers again, with nothing sent, and asks no more after close()", async (t) => {
    const ports = { pubPort: await freePort(), recvPort: await freePort() };
    let broker = await Broker.start(ports);
    t.after(() => broker.close());
    const link = await BrokerLink.connect({
      bus: new Bus(),
      ...ports,
      importFilters: ["r30:none"],
      heartbeatInterval: 100,
      sendTimeout: 300,
      retryDelay: { initial: 20, max: 100 },
    });
    link.on("error", () => {});
    t.after(() => link.close());
    let ups = 0;
    link.on("up", () => void ups++);
    const sent = link.stats.sent;

    await broker.close();
    const asks = [1, 2, 3].map((i) =>
      link.bus.ask("r30:ask", i, within({ timeout: 500 })).then(
        () => "answered",
        (error: unknown) => error,
      ),
    );
    for (const error of await Promise.all(asks)) assert.ok(error instanceof RequestTimeoutError, String(error));
    await waitFor(() => link.isDown && link.stats.ended === 3 && link.backlog === 0, "down, the ended asks taken out unsent", 10_000);

    // The broker down: the link keeps asking (each probe waits out sendTimeout, 300 ms, then the backoff).
    const retries = link.stats.retries;
    await sleep(1_000);
    const asked = link.stats.retries - retries;
    assert.ok(asked >= 1 && asked <= 10, `${asked} probes in 1 s`);
    assert.equal(link.isDown, true);

    broker = await Broker.start(ports);
    await waitFor(() => !link.isDown, "the link up again without a send", 10_000);
    assert.equal(ups, 1);
    assert.equal(link.stats.sent, sent, "nothing sent: the ended requests stayed unsent");

    // Down again, then closed while it probes: no `up` after close().
    await broker.close();
    await link.bus.ask("r30:ask", 4, within({ timeout: 500 })).catch(() => undefined);
    await waitFor(() => link.isDown && link.backlog === 0, "down again", 10_000);
    await link.close();
    const closedAt = link.stats.retries;
    broker = await Broker.start(ports);
    await sleep(500);
    assert.equal(link.stats.retries, closedAt, "no probe after close()");
    assert.equal(ups, 1);
  });
});
