// r27 review of listener isolation: the broker's events and a BrokerLink's 'error' were isolated, but a
// link's 'up' and 'down' listeners (the base Link's, every bridge's) were emitted from the send loop's
// promise handlers: one that threw left the link stalled (no retry scheduled) and crashed the process as
// an unhandled rejection. Now each is reported as LinkListenerError on 'error', and the link goes on.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LinkListenerError } from "../../../bridges/index.js";
import { Broker, BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";

describe("zeromq: a link's throwing 'up' and 'down' listeners (r27 review)", () => {
  it("are reported as LinkListenerError, and the link retries and delivers", { timeout: 15_000 }, async (t) => {
    const ports = { pubPort: await freePort(), recvPort: await freePort() };
    let broker = await Broker.start(ports);
    broker.on("error", () => undefined);
    const link = await BrokerLink.connect({
      bus: new Bus({ id: "sender" }),
      ...ports,
      importFilters: ["none:none"],
      acknowledge: ["job:*"],
      heartbeatInterval: 100,
      sendTimeout: 300,
      retryDelay: { initial: 50, max: 100 },
    });
    const reported: unknown[] = [];
    link.on("error", (error) => void reported.push(error));
    link.on("down", () => {
      throw new Error("a down listener's bug");
    });
    link.on("up", () => {
      throw new Error("an up listener's bug");
    });
    t.after(async () => {
      await link.close();
      broker.close();
    });
    broker.close(); // the link's next batch goes down
    link.bus.twitter("job:run", 1);
    const heard = (event: string) => () => reported.some((e) => e instanceof LinkListenerError && e.event === event);
    await waitFor(heard("down"), "the down listener's throw reported");
    broker = await Broker.start(ports);
    broker.on("error", () => undefined);
    const worker = new Bus({ id: "worker" });
    const runs: number[] = [];
    worker.follow("job:run", (m) => void runs.push(m.args[0] as number));
    const workerLink = await BrokerLink.connect({ bus: worker, ...ports, importFilters: ["job:*"], heartbeatInterval: 100 });
    t.after(() => workerLink.close());
    await waitFor(() => runs.length === 1, "the message, sent again once the broker is back", 8_000);
    await waitFor(heard("up"), "the up listener's throw reported");
    link.bus.twitter("job:run", 2);
    await waitFor(() => runs.length === 2, "a later message");
    assert.deepEqual(runs, [1, 2]);
  });
});
