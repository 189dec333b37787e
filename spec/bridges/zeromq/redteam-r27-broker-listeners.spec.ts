// r27 red team: a listener of the broker's own events that throws ("client", "client-gone", "dead-letter",
// "error") must not stop the broker. Thrown out of the frame handler, it ended the receive loop (the broker
// bound and beating, reading no frame again: every client's batches timed out for good) or, caught by the
// HELLO's check, refused a client's valid patterns; thrown from a timer (a dead letter, a client gone
// silent), it was an uncaught exception; and the listeners after it missed the event.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Broker, BrokerLink, type DeadLetter } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { waitFor } from "../../helpers/wait-for.js";

describe("zeromq broker: listeners that throw (r27)", () => {
  it("'client' and 'client-gone' listeners that throw: the broker keeps reading frames, the others hear them, each throw is reported", async (t) => {
    const broker = await Broker.start({ pubPort: 0, recvPort: 0 });
    const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort };
    const links: BrokerLink[] = [];
    t.after(async () => {
      for (const link of links) await link.close();
      broker.close();
    });
    const errors: Error[] = [];
    broker.on("error", (error) => void errors.push(error));
    for (const event of ["client", "client-gone"] as const)
      broker.on(event, () => {
        throw new Error(`${event} listener bug`);
      });
    const heard: string[] = [];
    broker.on("client", (id) => void heard.push(id));
    const gone: string[] = [];
    broker.on("client-gone", (id) => void gone.push(id));
    const early = await BrokerLink.connect({ bus: new Bus(), ...ports, importFilters: ["x:y"], connectTimeout: 2_000 });
    await early.close(); // its BYE: a "client-gone" from the frame handler
    await waitFor(() => gone.length === 1, "the listener after the throwing one hears client-gone");
    const worker = new Bus({ id: "worker" });
    const got: number[] = [];
    worker.follow("job:run", (m) => void got.push(m.args[0] as number));
    const workerLink = await BrokerLink.connect({ bus: worker, ...ports, importFilters: ["job:*"], connectTimeout: 2_000 });
    links.push(workerLink);
    const refusals: Error[] = [];
    workerLink.on("error", (error) => void refusals.push(error));
    const sender = await BrokerLink.connect({ bus: new Bus({ id: "sender" }), ...ports, importFilters: ["none:none"], connectTimeout: 2_000 });
    links.push(sender);
    sender.bus.twitter("job:run", 1);
    await waitFor(() => got.length === 1, "a message after the listeners threw", 3_000);
    assert.equal(heard.length, 3, "the listener after the throwing one heard every client");
    assert.deepEqual(refusals, [], "no client's HELLO was refused for a listener's throw");
    assert.ok(errors.some((error) => error.name === "BrokerListenerError" && /client listener bug/.test(error.message)));
    assert.ok(errors.some((error) => error.name === "BrokerListenerError" && /client-gone listener bug/.test(error.message)));
  });

  it("'dead-letter' and 'error' listeners that throw: no uncaught exception, later letters still come", async (t) => {
    const broker = await Broker.start({ pubPort: 0, recvPort: 0, resendInterval: 40, expiry: 50 });
    const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort };
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => void uncaught.push(error);
    process.on("uncaughtException", onUncaught);
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on("warning", onWarning);
    const sender = await BrokerLink.connect({ bus: new Bus({ id: "sender" }), ...ports, importFilters: ["none:none"], acknowledge: ["job:*"] });
    t.after(async () => {
      process.off("uncaughtException", onUncaught);
      process.off("warning", onWarning);
      await sender.close();
      broker.close();
    });
    broker.on("error", () => {
      throw new Error("error listener bug");
    });
    broker.on("dead-letter", () => {
      throw new Error("dead-letter listener bug");
    });
    const letters: DeadLetter[] = [];
    broker.on("dead-letter", (letter) => void letters.push(letter));
    sender.bus.twitter("job:one", 1);
    await waitFor(() => letters.length === 1, "the first dead letter", 3_000);
    sender.bus.twitter("job:two", 2);
    await waitFor(() => letters.length === 2, "a dead letter after a listener threw", 3_000);
    assert.deepEqual(uncaught, []);
    await waitFor(() => warnings.some((w) => /error listener bug/.test(w.message)), "the error listener's throw as a process warning");
  });
});
