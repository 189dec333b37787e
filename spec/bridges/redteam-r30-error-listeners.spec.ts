// Red team r30 (the core's error-listener fix, carried to links, channels, queues, brokers and RPC): a
// link's `error` listener that throws (a broken logger) kept the error from the listeners after it (a
// supervisor, a metrics counter), which never heard the link went down. Every `error` event berrymq emits
// goes through emitError, which now runs each listener in its own try; the throw is one process warning.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus } from "../../lib/bus.js";
import { type BerryError, ErrorListenerError } from "../../lib/errors.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { waitFor } from "../helpers/wait-for.js";

describe("red team r30: a link's error listener that throws", () => {
  it("keeps the error from no listener after it, and becomes one process warning", async (t) => {
    const [left, right] = MemoryLink.pair({ bus: new Bus(), retryDelay: { initial: 10, max: 40 } }, { bus: new Bus() });
    t.after(async () => {
      await left.close();
      await right.close();
    });
    const heard: BerryError[] = [];
    left.on("error", () => {
      throw new Error("broken logger");
    });
    left.on("error", (error) => void heard.push(error));
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on("warning", onWarning);
    t.after(() => process.off("warning", onWarning));
    left.reachable = false;
    left.bus.twitter("r30:lost", 1);
    await waitFor(() => heard.length > 0, "the second listener heard the link go down", 5_000);
    assert.equal(heard[0]?.code, "LINK_DOWN");
    await waitFor(() => warnings.length > 0, "the throw as a process warning", 5_000);
    assert.ok(warnings[0] instanceof ErrorListenerError, String(warnings[0]));
  });
});
