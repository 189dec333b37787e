// r28 review: a subscriber past maxSubscriberQueueBytes was let go on by any echo of a mark at all: filled
// just below the bound (the next delivery would not fit), it was no longer counted full on an echo that
// said it read nothing more (a "0", a mark of no record of it, one it had answered already), and
// broadcasts, which are not checked per subscriber, went to it again. Only an echo that says it read more
// ends its being full now.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { Broker, BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

const BOUND = 64 * 1024;
const SIZE = 4_000;

describe("zeromq broker: a subscriber past maxSubscriberQueueBytes (r28 review)", () => {
  it("stays full on an echo that says it read nothing more", { timeout: 60_000 }, async (t) => {
    const lines: string[] = [];
    const broker = await Broker.start({
      pubPort: await freePort(),
      recvPort: await freePort(),
      maxSubscriberQueueBytes: BOUND,
      maxMessageBytes: BOUND,
      heartbeatInterval: 100,
      clientTimeout: 60_000,
      log: (line) => void lines.push(line),
    });
    broker.on("error", () => undefined);
    const sender = await BrokerLink.connect({
      bus: new Bus(),
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      importFilters: ["none:none"],
      maxMessageBytes: BOUND,
    });
    // A raw client saying feature "k" that reads nothing.
    const clientId = randomBytes(8).toString("hex");
    const dealer = new zmq.Dealer({ routingId: clientId, linger: 0 });
    const sub = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 1_000_000 });
    t.after(async () => {
      dealer.close();
      sub.close();
      await sender.close();
      broker.close();
    });
    dealer.connect(`tcp://127.0.0.1:${broker.recvPort}`);
    sub.connect(`tcp://127.0.0.1:${broker.pubPort}`);
    sub.subscribe(`${clientId} `);
    sub.subscribe("* ");
    let beats = 0;
    const marks: string[] = [];
    void (async () => {
      try {
        for await (const [first] of sub) {
          const fields = first?.toString().split(" ") ?? [];
          if (fields[1] === "T") beats++;
          else if (fields[1] === "K") marks.push(fields[2] ?? "");
        }
      } catch {
        // closed
      }
    })();
    await waitFor(() => beats > 0, "a beat on the raw client's SUB", 10_000);
    await dealer.send(["H", JSON.stringify(["job:*"]), "0", "rck"]);
    await waitFor(() => broker.clients === 2, "both clients registered", 10_000);
    const data = "x".repeat(SIZE);
    for (let i = 0; i < 100 && broker.stats.slowDropped === 0; i++) {
      sender.bus.twitter("job:run", data);
      await waitFor(() => broker.stats.received >= i + 1, "the broker keeping up", 10_000);
      await sleep(5);
    }
    assert.ok(broker.stats.slowDropped > 0, "the raw client is past the bound");
    await waitFor(() => marks.length > 0, "the mark of its filling", 5_000);
    // Echoes that say it read nothing: 0, and a count past all it was sent (no mark of this record).
    const before = lines.length;
    await dealer.send(["K", "0"]);
    await dealer.send(["K", String(2 ** 52)]);
    await sleep(500);
    const resumed = lines.slice(before).filter((line) => line.includes("read what it was sent"));
    t.diagnostic(`${resumed.length} resumption(s) logged on echoes saying nothing new`);
    assert.deepEqual(resumed, [], "an echo saying it read nothing more does not end its being full");
    // Its echo of the latest mark (all it was sent) does.
    await dealer.send(["K", marks.at(-1) as string]);
    await waitFor(
      () => lines.slice(before).some((line) => line.includes("read what it was sent")),
      "deliveries going on once it read all",
      5_000,
    );
  });
});
