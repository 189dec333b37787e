// r28 red team: a resend (and the offer of held messages to a client that newly subscribes) joined every
// message held for a subscriber into one DELIVER: up to maxUnackedBytes (256 MiB by default, or more: past
// Node's largest Buffer) in one frame, which the subscriber's libzmq took whole or cut its connection for.
// Held messages now go again in DELIVERs of at most the broker's maxMessageBytes each.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { Broker, BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";
import { rawClient } from "./broker-helpers.js";

const MAX = 64 * 1024;
const COUNT = 100;
const SIZE = 10_000; // 100 messages of ~10 KB: ~1 MB held, sixteen times MAX

describe("zeromq broker: resends in bounded frames (r28)", () => {
  it("held messages offered to a new subscriber, and resent to it, go in DELIVERs of at most maxMessageBytes", {
    timeout: 60_000,
  }, async (t) => {
    const broker = await Broker.start({
      pubPort: await freePort(),
      recvPort: await freePort(),
      maxMessageBytes: MAX,
      resendInterval: 300,
    });
    broker.on("error", () => undefined);
    const sender = await BrokerLink.connect({
      bus: new Bus(),
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      importFilters: ["none:none"],
      acknowledge: ["job:*"],
      maxMessageBytes: MAX,
    });
    // Never acknowledges: everything held is offered to it on its HELLO, then resent.
    const slow = await rawClient(broker.pubPort, broker.recvPort, randomBytes(8).toString("hex"));
    t.after(async () => {
      slow.close();
      await sender.close();
      broker.close();
    });
    const data = "x".repeat(SIZE);
    for (let i = 0; i < COUNT; i++) sender.bus.twitter("job:run", data);
    await waitFor(() => broker.held === COUNT, "every message held (no subscriber yet)", 20_000);
    await slow.hello(["job:*"]);
    await waitFor(() => slow.delivered.reduce((n, d) => n + d.flags.length, 0) >= COUNT * 3, "the offer and two resends", 20_000);
    const sizes = slow.delivered.map((d) => Buffer.byteLength(d.lines.join("\n")));
    const largest = Math.max(...sizes);
    t.diagnostic(`${sizes.length} DELIVERs, the largest ${largest} bytes`);
    assert.ok(largest <= MAX, `a DELIVER of ${largest} bytes, over maxMessageBytes ${MAX}`);
    assert.ok(
      slow.delivered.every((d) => d.flags.length === d.lines.length),
      "each DELIVER's flags match its lines",
    );
    const ids = new Set(slow.delivered.flatMap((d) => d.lines.map((line) => (JSON.parse(line) as unknown[])[3])));
    assert.equal(ids.size, COUNT, "every held message reached the subscriber");
  });
});
