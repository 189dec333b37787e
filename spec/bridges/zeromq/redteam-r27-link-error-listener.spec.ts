// r27 red team: a BrokerLink 'error' listener that throws must not stop the link. Thrown inside the link's
// receive loops (a refusal named in a receipt, a bad delivery), it ended the loop: receipts were never
// read again (every later batch timed out and was sent again for ever) or deliveries never again reached
// the bus, and the loop's own report threw again as an unhandled rejection.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Broker, BrokerLink, BrokerNoSubscriberError } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { waitFor } from "../../helpers/wait-for.js";

describe("zeromq broker link: an 'error' listener that throws (r27)", () => {
  it("a refusal reported to a throwing listener: later batches are still confirmed and delivered", async (t) => {
    const broker = await Broker.start({ pubPort: 0, recvPort: 0 });
    const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort };
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on("warning", onWarning);
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown): void => void rejections.push(reason);
    process.on("unhandledRejection", onRejection);
    const worker = new Bus({ id: "worker" });
    const got: number[] = [];
    worker.follow("job:run", (m) => void got.push(m.args[0] as number));
    const workerLink = await BrokerLink.connect({ bus: worker, ...ports, importFilters: ["job:*"] });
    const sender = await BrokerLink.connect({
      bus: new Bus({ id: "sender" }),
      ...ports,
      importFilters: ["none:none"],
      acknowledge: [{ filter: "pay:*", noSubscriber: "refuse" }],
      sendTimeout: 500,
    });
    t.after(async () => {
      process.off("warning", onWarning);
      process.off("unhandledRejection", onRejection);
      await sender.close();
      await workerLink.close();
      broker.close();
    });
    let thrown = 0;
    sender.on("error", (error) => {
      if (error instanceof BrokerNoSubscriberError) {
        thrown++;
        throw new Error("listener bug");
      }
    });
    sender.bus.twitter("pay:now", 1); // nobody subscribes: refused, reported to the throwing listener
    await waitFor(() => thrown === 1, "the refusal reported");
    for (let i = 0; i < 3; i++) sender.bus.twitter("job:run", i);
    await waitFor(() => got.length === 3, "messages after the listener threw", 3_000);
    await waitFor(() => sender.backlog === 0, "the later batches confirmed", 3_000);
    assert.equal(sender.stats.retries, 0, "no batch timed out for want of its receipt");
    assert.deepEqual(rejections, []);
    assert.ok(warnings.some((w) => /listener bug/.test(w.message)), "the throw as a process warning");
  });
});
