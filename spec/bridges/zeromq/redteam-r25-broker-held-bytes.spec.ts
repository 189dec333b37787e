// Red team r25 (bounds audit): the broker bounded the acknowledged messages it holds by count only
// (`maxUnacked`, 10,000), each up to 16 MiB: 127 held messages of 2 MB took 248 MiB, ~19 GB at the bound.
// `maxUnackedBytes` (default 256 MiB) bounds their bytes too: a batch past it is refused with
// BrokerFullError naming the bound, the link keeps it and retries, and bytes freed by acknowledgements
// let it in.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Broker, BrokerFullError, BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import type { BerryError } from "../../../lib/errors.js";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";

describe("zeromq broker red team r25: held bytes", () => {
  it("refuses acknowledged messages past maxUnackedBytes, and takes them once acknowledgements free the room", async (t) => {
    const broker = await Broker.start({
      pubPort: await freePort(),
      recvPort: await freePort(),
      resendInterval: 100,
      heartbeatInterval: 100,
      maxUnackedBytes: 10_000,
      maxUnackedBytesPerClient: 1_000_000, // one client here fills the broker's bound, not its own quota (r27)
    });
    t.after(() => broker.close());
    const brokerErrors: BerryError[] = [];
    broker.on("error", (error) => void brokerErrors.push(error));
    const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort };
    const link = await BrokerLink.connect({
      bus: new Bus(),
      ...ports,
      importFilters: ["none:none"],
      acknowledge: ["job:*"],
      retryDelay: { initial: 50, max: 100 },
    });
    t.after(() => link.close());
    const linkErrors: BerryError[] = [];
    link.on("error", (error) => void linkErrors.push(error));
    const text = "x".repeat(4_000); // ~4.1 KB a line: two fit in 10,000 bytes, not three
    for (let i = 0; i < 3; i++) {
      link.bus.twitter("job:run", i, text);
      if (i < 2) await waitFor(() => broker.held === i + 1, `message ${i} held`);
    }
    await waitFor(() => brokerErrors.length > 0, "the third refused");
    assert.equal(broker.held, 2);
    const refusal = brokerErrors[0];
    assert.ok(refusal instanceof BrokerFullError, String(refusal));
    assert.equal(refusal.code, "BROKER_FULL");
    assert.equal(refusal.limit, 10_000);
    assert.match(refusal.message, /10000 bytes of unacknowledged messages held \(maxUnackedBytes\)/);
    assert.equal(link.backlog, 1, "the refused message waits in the link to be retried");
    // The link names the bound the broker reached (review r25: it said maxUnacked).
    await waitFor(() => linkErrors.length > 0, "the link reports the refusal");
    const cause = (linkErrors[0] as Error).cause;
    assert.ok(cause instanceof BrokerFullError && cause.bound === "maxUnackedBytes", String(cause));
    // A subscriber acknowledges what is held: the room is freed, and the retried message is taken.
    const seen: number[] = [];
    const worker = new Bus();
    worker.follow("job:run", (message) => void seen.push(Number(message.args[0])));
    const subscriber = await BrokerLink.connect({ bus: worker, ...ports, importFilters: ["job:*"] });
    t.after(() => subscriber.close());
    await waitFor(() => seen.length === 3, "all three delivered once room is freed", 15_000).catch((error: Error) => {
      throw new Error(`${error.message} (seen ${JSON.stringify(seen)}, held ${broker.held}, backlog ${link.backlog}, errors ${brokerErrors.length})`);
    });
    assert.deepEqual([...seen].sort(), [0, 1, 2]);
    await waitFor(() => broker.held === 0, "all acknowledged");
  });

  // Review r25: a batch larger than the bound alone was refused for ever (nothing held, so nothing could
  // free room), and everything its link sent after it waited behind it.
  it("takes a batch larger than the bound while nothing is held, so its link is never stuck", async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort(), heartbeatInterval: 100, maxUnackedBytes: 10_000 });
    t.after(() => broker.close());
    broker.on("error", () => undefined);
    const seen: number[] = [];
    const worker = new Bus();
    worker.follow("job:run", (message) => void seen.push(Number(message.args[0])));
    const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort };
    const subscriber = await BrokerLink.connect({ bus: worker, ...ports, importFilters: ["job:*"] });
    t.after(() => subscriber.close());
    const link = await BrokerLink.connect({ bus: new Bus(), ...ports, importFilters: ["none:none"], acknowledge: ["job:*"] });
    t.after(() => link.close());
    link.on("error", () => undefined);
    const text = "x".repeat(4_000);
    for (let i = 0; i < 3; i++) link.bus.twitter("job:run", i, text); // one batch of ~12.3 KB
    link.bus.twitter("job:run", 3, "small");
    await waitFor(() => seen.length === 4, "all four delivered", 10_000);
    assert.deepEqual([...seen].sort(), [0, 1, 2, 3]);
  });

  it("refuses a bad maxUnackedBytes, naming it", async () => {
    await assert.rejects(Broker.start({ pubPort: await freePort(), recvPort: await freePort(), maxUnackedBytes: 0 }), /maxUnackedBytes/);
  });
});
