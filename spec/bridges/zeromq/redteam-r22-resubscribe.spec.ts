// Red team r22: a client that changes its subscriptions in a loop (a resubscribe flood) against a broker
// holding unacknowledged messages for a slow, healthy subscriber.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Broker, BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { type RawClient, rawClient } from "./broker-helpers.js";

const lines = (client: RawClient): number => client.delivered.reduce((sum, d) => sum + d.lines.length, 0);

// HELLOs until one is welcomed (a SUB connecting late misses the first welcomes).
async function register(client: RawClient, patterns: string[], version: number): Promise<void> {
  const before = client.welcomes.length;
  for (let i = 0; client.welcomes.length === before; i++) {
    if (i > 200) throw new Error(`no welcome for ${client.clientId}`);
    await client.hello(patterns, version);
    await sleep(25);
  }
}

describe("zeromq broker: red team r22 (resubscribe flood)", () => {
  it("red team: 300 HELLOs changing one client's patterns do not resend every held message to every other subscriber each time (30,000 duplicates); a newcomer is still offered what it matches", {
    timeout: 20_000,
  }, async (t) => {
    // No timed resend during the test: every resend seen comes from a HELLO.
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort(), resendInterval: 60_000 });
    broker.on("error", () => undefined);
    const slow = await rawClient(broker.pubPort, broker.recvPort, "5105105105105105");
    const hostile = await rawClient(broker.pubPort, broker.recvPort, "bad0bad0bad0bad0");
    const late = await rawClient(broker.pubPort, broker.recvPort, "1a7e1a7e1a7e1a7e");
    const sender = await BrokerLink.connect({
      bus: new Bus(),
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      importFilters: ["none:none"],
      acknowledge: ["job:*"],
    });
    t.after(async () => {
      await sender.close();
      for (const client of [slow, hostile, late]) client.close();
      broker.close();
    });
    await register(slow, ["job:*"], 1);
    for (let i = 0; i < 100; i++) sender.bus.twitter("job:run", i);
    await waitFor(
      () => broker.held === 100 && lines(slow) === 100,
      "100 held messages delivered once to the slow subscriber (which never acknowledges)",
      10_000,
    );
    await register(hostile, ["x:a"], 0);
    for (let i = 1; i <= 300; i++) await hostile.hello([i % 2 === 0 ? "x:a" : "x:b"], i);
    await waitFor(() => hostile.welcomes.includes("300"), "the last HELLO of the flood welcomed", 10_000);
    assert.equal(lines(slow), 100, "the slow subscriber got no duplicate from another client's resubscriptions");
    assert.equal(broker.stats.resent, 0, "nothing resent for patterns that match no held message");
    // A newcomer matching the held messages is offered them at once, and only it.
    await register(late, ["job:*"], 1);
    await waitFor(() => lines(late) === 100, "the newcomer offered the 100 held messages", 10_000);
    // A client flipping between two patterns that both match gets them once per resendInterval, not per HELLO.
    for (let i = 2; i <= 51; i++) await late.hello(i % 2 === 0 ? ["job:*", "x:x"] : ["job:*"], i);
    await waitFor(() => late.welcomes.includes("51"), "the flipping client's last HELLO welcomed", 10_000);
    await sleep(200);
    assert.equal(lines(late), 100, "50 pattern changes within resendInterval offer the held messages no more than once");
    assert.equal(lines(slow), 100, "and the slow subscriber still got no duplicate");
  });
});
