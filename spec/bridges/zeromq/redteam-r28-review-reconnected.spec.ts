// r28 review: what the broker sent a subscriber while its pub connection was down (libzmq drops it, and
// the marks with it) stayed counted as unread until the subscriber answered a later mark, and the next
// mark went out only once an eighth of the bound more was sent: a subscriber that had read everything it
// got, reconnected, was past maxSubscriberQueueBytes at its next delivery (dropped, and nothing broadcast)
// if its count was near the bound. At each beat, a subscriber with half the bound unread is now marked
// again, as a full one is.
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

describe("zeromq broker: a subscriber whose pub connection came back (r28 review)", () => {
  it("is not past the bound for what was sent to it while it was down", { timeout: 60_000 }, async (t) => {
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
    // A raw client that reads everything it gets and answers every mark at once.
    const clientId = randomBytes(8).toString("hex");
    const dealer = new zmq.Dealer({ routingId: clientId, linger: 0 });
    let sub: zmq.Subscriber | undefined;
    let got = 0;
    let beats = 0;
    const connectSub = (): void => {
      const socket = new zmq.Subscriber({ linger: 0 });
      socket.connect(`tcp://127.0.0.1:${broker.pubPort}`);
      socket.subscribe(`${clientId} `);
      socket.subscribe("* ");
      sub = socket;
      void (async () => {
        try {
          for await (const [first] of socket) {
            const fields = first?.toString().split(" ") ?? [];
            if (fields[1] === "T") beats++;
            else if (fields[1] === "M") got += (fields[3] ?? "").length;
            else if (fields[1] === "K") await dealer.send(["K", fields[2] ?? ""]);
          }
        } catch {
          // closed
        }
      })();
    };
    t.after(async () => {
      dealer.close();
      sub?.close();
      await sender.close();
      broker.close();
    });
    dealer.connect(`tcp://127.0.0.1:${broker.recvPort}`);
    connectSub();
    await waitFor(() => beats > 0, "a beat on the raw client's SUB", 10_000);
    await dealer.send(["H", JSON.stringify(["job:*"]), "0", "rck"]);
    await waitFor(() => broker.clients === 2, "both clients registered", 10_000);
    const data = "x".repeat(SIZE);
    // Its pub connection is down while 14 messages (~57 KB, most of the bound) are sent to it, one a batch.
    sub?.close();
    for (let i = 0; i < 14; i++) {
      const received = broker.stats.received;
      sender.bus.twitter("job:run", data);
      await waitFor(() => broker.stats.received > received, "the broker keeping up", 10_000);
    }
    // Back, reading; a few beats later, three messages in one batch (one DELIVER of ~12 KB).
    beats = 0;
    connectSub();
    await waitFor(() => beats > 3, "beats on its new connection", 10_000);
    for (let i = 0; i < 3; i++) sender.bus.twitter("job:run", data);
    await waitFor(() => broker.stats.received === 17, "the batch received", 10_000);
    await sleep(500);
    const filled = lines.filter((line) => line.includes(`client ${clientId} has`));
    t.diagnostic(`it got ${got} after it came back; ${broker.stats.slowDropped} deliveries dropped`);
    assert.deepEqual(filled, [], "a subscriber that read all it got is not past the bound");
    assert.equal(got, 3, "it got the batch sent after it came back");
  });
});
