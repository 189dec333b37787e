// r28 review: a client whose HELLO said feature "k" again after one without it was counted as having read
// nothing of what was broadcast meanwhile (the broker kept no count of it then, nor sent it marks), so a
// client that had read everything was past maxSubscriberQueueBytes at once: deliveries to it dropped and
// nothing broadcast until it answered a mark. It now starts counting afresh, as a new registration does.
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

describe('zeromq broker: a HELLO saying feature "k" again (r28 review)', () => {
  it("does not count what was broadcast while it did not as unread", { timeout: 60_000 }, async (t) => {
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
    const link = (importFilters: string[]) =>
      BrokerLink.connect({
        bus: new Bus(),
        pubPort: broker.pubPort,
        recvPort: broker.recvPort,
        importFilters,
        maxMessageBytes: BOUND,
      });
    const sender = await link(["none:none"]);
    // Another subscriber of job:*: with the raw client, every client but the sender wants job:run, which
    // is then broadcast.
    const other = await link(["job:*"]);
    // A raw client that reads everything and answers every mark at once.
    const clientId = randomBytes(8).toString("hex");
    const dealer = new zmq.Dealer({ routingId: clientId, linger: 0 });
    const sub = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 1_000_000 });
    t.after(async () => {
      dealer.close();
      sub.close();
      await sender.close();
      await other.close();
      broker.close();
    });
    dealer.connect(`tcp://127.0.0.1:${broker.recvPort}`);
    sub.connect(`tcp://127.0.0.1:${broker.pubPort}`);
    sub.subscribe(`${clientId} `);
    sub.subscribe("* ");
    let beats = 0;
    void (async () => {
      try {
        for await (const [first] of sub) {
          const fields = first?.toString().split(" ") ?? [];
          if (fields[1] === "T") beats++;
          else if (fields[1] === "K") await dealer.send(["K", fields[2] ?? ""]);
        }
      } catch {
        // closed
      }
    })();
    await waitFor(() => beats > 0, "a beat on the raw client's SUB", 10_000);
    const send = async (count: number): Promise<void> => {
      const data = "x".repeat(SIZE);
      for (let i = 0; i < count; i++) {
        const received = broker.stats.received;
        sender.bus.twitter("job:run", data);
        await waitFor(() => broker.stats.received > received, "the broker keeping up", 10_000);
        await sleep(2);
      }
    };
    await dealer.send(["H", JSON.stringify(["job:*"]), "0", "rck"]);
    await waitFor(() => broker.clients === 3, "three clients registered", 10_000);
    // Without "k", then with it again: four times the bound broadcast meanwhile.
    await dealer.send(["H", JSON.stringify(["job:*"]), "0", "rc"]);
    await sleep(200);
    await send(64);
    await dealer.send(["H", JSON.stringify(["job:*"]), "0", "rck"]);
    await sleep(200);
    await send(40);
    await sleep(300);
    const filled = lines.filter((line) => line.includes(`client ${clientId} has`));
    t.diagnostic(`${filled.length} time(s) past the bound; ${broker.stats.slowDropped} deliveries dropped`);
    assert.deepEqual(filled, [], "a client that reads everything is never past the bound");
    assert.equal(broker.stats.slowDropped, 0);
  });
});
