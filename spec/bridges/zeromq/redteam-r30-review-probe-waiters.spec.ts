// Red team r30 review: a BrokerLink's transport probe (a HELLO awaiting the broker's welcome) shares
// #welcomeWaiters with subscribe()/unsubscribe() (importFiltersChanged). A change made while the broker was
// down took, once it gave up waiting (sendTimeout), every waiter of its patterns version off the list: a
// probe started meanwhile (same version) was among them, and the broker's welcome then answered nobody. The
// link stayed down until that probe timed out and the next one was welcomed (sendTimeout and a backoff).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Broker, BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { within } from "../../../lib/request.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

describe("red team r30 review: a BrokerLink probe and a subscribe made while the broker is down", () => {
  it("the probe hears the welcome after the subscribe gave up waiting", async (t) => {
    const ports = { pubPort: await freePort(), recvPort: await freePort() };
    let broker = await Broker.start(ports);
    t.after(() => broker.close());
    const sendTimeout = 3_000;
    const link = await BrokerLink.connect({
      bus: new Bus(),
      ...ports,
      importFilters: ["r30:none"],
      heartbeatInterval: 100,
      sendTimeout,
      retryDelay: { initial: 50, max: 50 },
    });
    link.on("error", () => {});
    t.after(() => link.close());
    // When each probe starts (the Link calls the transport's probeTransport).
    const probes: number[] = [];
    const probing = link as unknown as { probeTransport(): Promise<unknown> };
    const probe = probing.probeTransport;
    probing.probeTransport = function (this: BrokerLink) {
      probes.push(performance.now());
      return probe.call(this);
    };

    await broker.close();
    await link.bus.ask("r30:ask", 1, within({ timeout: 200 })).catch(() => undefined);
    await waitFor(() => probes.length >= 1, "a first probe", 10_000);
    // A subscribe while the broker is down: it waits sendTimeout for a welcome, then resolves anyway. The
    // next probe starts (sendTimeout + 50 ms after the first) before it gave up, with its patterns version.
    await sleep(500);
    const subscribed = link.subscribe("r30:later");
    await waitFor(() => probes.length >= 2, "a second probe", 10_000);
    await subscribed;
    assert.equal(link.isDown, true);

    broker = await Broker.start(ports);
    const back = performance.now();
    let upAt = Number.POSITIVE_INFINITY;
    link.once("up", () => {
      upAt = performance.now();
    });
    // The heartbeat's HELLO is welcomed within a few 100 ms: the probe waiting for a welcome hears it. Left
    // off the list, it heard nothing until it timed out (sendTimeout after it started) and one more was asked.
    await waitFor(() => !link.isDown, "up again", 10_000);
    assert.ok(upAt - back < 1_500, `up ${Math.round(upAt - back)} ms after the broker came back`);
  });
});
