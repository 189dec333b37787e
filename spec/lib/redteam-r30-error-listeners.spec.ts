// Red team r30: a bus's `error` listeners, one of which throws (a broken logger). The event was emitted
// in one go: the throwing listener kept the error from every listener after it (a metrics counter, a
// supervisor), which never heard of the failure. Each listener now hears it; each throw is one warning.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type BerryError, Bus, ErrorListenerError, FollowerError } from "../../lib/index.js";
import { warningsDuring } from "../helpers/warnings.js";

describe("red team r30: a throwing `error` listener and the listeners after it", () => {
  it("every error listener hears each failure; each throw is one ErrorListenerError warning", async () => {
    const bus = new Bus();
    const counted: BerryError[] = [];
    const once: BerryError[] = [];
    const ran: string[] = [];
    const warnings = await warningsDuring(() => {
      bus.on("error", () => {
        throw new Error("logger broke");
      });
      bus.on("error", (error) => void counted.push(error));
      bus.once("error", (error) => void once.push(error));
      bus.follow("a:b", () => {
        throw new Error("first fails");
      });
      bus.follow("a:b", () => void ran.push("second"));
      assert.equal(bus.twitter("a:b"), 2);
      assert.equal(bus.twitter("a:b"), 2);
    });
    assert.deepEqual(ran, ["second", "second"]);
    assert.equal(counted.length, 2, "the listener after the throwing one heard both failures");
    assert.ok(counted.every((error) => error instanceof FollowerError && /first fails/.test(error.message)));
    assert.equal(once.length, 1, "a once-listener hears one");
    const listenerWarnings = warnings.filter((warning) => warning instanceof ErrorListenerError);
    assert.equal(listenerWarnings.length, 2, "one warning per throw");
    assert.match(listenerWarnings[0]?.message ?? "", /logger broke/);
    bus.close();
  });

  it("with no error listener a failure is still one process warning carrying it", async () => {
    const bus = new Bus();
    bus.follow("a:b", () => {
      throw new Error("nobody listens");
    });
    const warnings = await warningsDuring(() => void bus.twitter("a:b"));
    assert.equal(warnings.length, 1);
    assert.ok(warnings[0] instanceof FollowerError);
    bus.close();
  });
});
