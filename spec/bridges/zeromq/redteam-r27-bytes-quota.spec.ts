// r27 red team: the per-client quota counted messages only. One client's acknowledged messages to a typo,
// 1,000 of a few hundred KB (well within its count quota and maxMessageBytes), filled the broker's
// maxUnackedBytes: every other client's acknowledged batches were refused (BrokerFullError) until they
// expired, an hour by default, against the README's promise that one client fills its own quota, not the
// broker. A client now also holds at most maxUnackedBytesPerClient bytes (default a tenth of maxUnackedBytes).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Broker, BrokerFullError, BrokerLink, BrokerQuotaError } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { waitFor } from "../../helpers/wait-for.js";

describe("zeromq broker: per-client bytes quota (r27)", () => {
  it("one client's large held messages fill its own quota, not the broker's bytes: another client still sends", async (t) => {
    const broker = await Broker.start({ pubPort: 0, recvPort: 0, maxUnackedBytes: 100_000 });
    broker.on("error", () => undefined);
    const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort };
    const worker = new Bus({ id: "worker" });
    const got: string[] = [];
    worker.follow("job:run", (m) => void got.push(m.args[0] as string));
    const links: BrokerLink[] = [];
    t.after(async () => {
      for (const link of links) await link.close();
      broker.close();
    });
    links.push(await BrokerLink.connect({ bus: worker, ...ports, importFilters: ["job:*"] }));
    const retry = { initial: 50, max: 100 };
    const flooder = await BrokerLink.connect({
      bus: new Bus({ id: "flooder" }),
      ...ports,
      importFilters: ["none:none"],
      acknowledge: ["ordres:*"],
      retryDelay: retry,
    });
    links.push(flooder);
    const flooderErrors: Error[] = [];
    flooder.on("error", (error) => void flooderErrors.push((error as { cause?: Error }).cause ?? error));
    const big = "x".repeat(5_000);
    for (let i = 0; i < 30; i++) {
      flooder.bus.twitter("ordres:new", `${i}${big}`); // a typo: nobody subscribes, held
      await waitFor(() => flooder.backlog === 0 || flooderErrors.length > 0, "each taken or refused");
      if (flooderErrors.length > 0) break;
    }
    const other = await BrokerLink.connect({ bus: new Bus({ id: "other" }), ...ports, importFilters: ["none:none"], acknowledge: ["job:*"], retryDelay: retry });
    links.push(other);
    const otherErrors: Error[] = [];
    other.on("error", (error) => void otherErrors.push((error as { cause?: Error }).cause ?? error));
    other.bus.twitter("job:run", `mine${big}`);
    await waitFor(() => got.length === 1 || otherErrors.length > 0, "the other client's message delivered or refused", 3_000);
    assert.deepEqual(otherErrors.map((error) => error.message), [], "the other client is not refused");
    assert.deepEqual(got, [`mine${big}`]);
    assert.ok(flooderErrors.some((error) => error instanceof BrokerQuotaError), "the flooder hits its own quota");
    assert.ok(!flooderErrors.some((error) => error instanceof BrokerFullError), "not the broker's bound");
    assert.ok(broker.held <= 3, `${broker.held} held: the flooder's quota, a tenth of 100,000 bytes, is 2 messages of 5 KB`);
  });
});
