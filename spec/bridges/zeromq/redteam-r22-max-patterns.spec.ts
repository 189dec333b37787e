// Red team r22: a link subscribing at run time past the broker's maxPatterns (a link subscribes to its
// import filters and its reply pattern: three filters are four patterns).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Broker, BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

describe("zeromq broker: red team r22 (a subscription past maxPatterns)", () => {
  it("red team: subscribing one pattern past maxPatterns fails that subscribe with a typed error and leaves the link subscribed to what it had (the broker forgot the link: it silently received nothing more)", {
    timeout: 20_000,
  }, async (t) => {
    const broker = await Broker.start({
      pubPort: await freePort(),
      recvPort: await freePort(),
      maxPatterns: 4,
      clientTimeout: 500,
      heartbeatInterval: 100,
    });
    broker.on("error", () => undefined);
    const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort, heartbeatInterval: 100, sendTimeout: 500 };
    const bus = new Bus();
    const got: unknown[] = [];
    bus.follow("a:*", (m) => void got.push(m.args[0]));
    const link = await BrokerLink.connect({ bus, ...ports, importFilters: ["a:1", "a:2", "a:3"] });
    link.on("error", () => undefined);
    const sender = await BrokerLink.connect({ bus: new Bus(), ...ports, importFilters: ["none:none"] });
    t.after(async () => {
      await sender.close();
      await link.close();
      broker.close();
    });
    const refused = await link.subscribe("a:4").then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(
      refused instanceof Error && (refused as { code?: string }).code === "ZMQ_PROTOCOL",
      `subscribe("a:4") fails: ${String(refused)}`,
    );
    assert.match(String((refused as Error).message), /maxPatterns/);
    assert.deepEqual(
      [...link.importFilters].sort(),
      ["a:1", "a:2", "a:3"],
      "the refused pattern is taken back",
    );
    // Several clientTimeouts later the link is still registered with its three patterns.
    await sleep(1_500);
    sender.bus.twitter("a:1", "still subscribed");
    await waitFor(() => got.includes("still subscribed"), "a message to a:1 after the refused subscribe", 5_000);
  });
});
