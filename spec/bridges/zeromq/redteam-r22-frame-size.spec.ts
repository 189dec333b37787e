// Red team r22, ZeroMQ broker: nothing bounded the size of a frame. A client's 64 MiB frame was read whole
// (20 of them: +260 MB in the broker), and a link sent a batch body of any size. Now the broker's
// maxMessageBytes (default 16 MiB) has libzmq cut a sender of a frame over twice it, unread; a BrokerLink
// sends bodies of at most its own maxMessageBytes (a larger batch as several) and drops, reported, a
// message whose line alone passes it, while the messages around it go.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { Bus } from "../../../lib/bus.js";
import { InvalidArgumentError } from "../../../lib/errors.js";
import { UnsendableMessageError } from "../../../bridges/errors.js";
import { Broker, BrokerLink } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

const KIB = 1_024;

describe("zeromq broker red team r22: frame sizes", () => {
  it("a client sending a frame over twice maxMessageBytes is cut before the broker reads it; the broker serves on", async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort(), maxMessageBytes: 64 * KIB });
    broker.on("error", () => undefined);
    const raw = new zmq.Dealer({ routingId: randomBytes(8).toString("hex"), linger: 0 });
    raw.connect(`tcp://127.0.0.1:${broker.recvPort}`);
    const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort };
    const a = new Bus();
    const b = new Bus();
    const linkA = await BrokerLink.connect({ bus: a, ...ports, maxMessageBytes: 64 * KIB, importFilters: ["none:none"] });
    const linkB = await BrokerLink.connect({ bus: b, ...ports, importFilters: ["ok:*"] });
    t.after(async () => {
      raw.close();
      await linkA.close();
      await linkB.close();
      broker.close();
    });
    await sleep(100);
    const before = broker.stats.received;
    // A well-formed PUBLISH (policy 0: routed on its head, body unread) whose body is 1 MiB.
    await raw.send(["P", JSON.stringify(["1", "", "big:one", "", 0]), "x".repeat(KIB * KIB)]);
    // One just under the cut is still taken: the bound is twice maxMessageBytes.
    await raw.send(["P", JSON.stringify(["2", "", "small:one", "", 0]), "y".repeat(100 * KIB)]);
    await waitFor(() => broker.stats.received >= before + 1, "a frame received", 10_000);
    await sleep(300);
    assert.equal(broker.stats.received, before + 1, "the 1 MiB frame was never read");
    const got = new Promise<readonly unknown[]>((resolve) => b.follow("ok:*", (m) => resolve(m.args)));
    a.twitter("ok:go", 1);
    assert.deepEqual(await got, [1]);
  });

  it("a link cuts a batch larger than its maxMessageBytes into several, and drops and reports a message too large alone", async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort(), maxMessageBytes: 64 * KIB });
    broker.on("error", () => undefined);
    const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort };
    const a = new Bus();
    const b = new Bus();
    const linkA = await BrokerLink.connect({ bus: a, ...ports, maxMessageBytes: 64 * KIB });
    const linkB = await BrokerLink.connect({ bus: b, ...ports, importFilters: ["job:*"] });
    const errors: Error[] = [];
    linkA.on("error", (error) => void errors.push(error));
    t.after(async () => {
      await linkA.close();
      await linkB.close();
      broker.close();
    });
    const received: number[] = [];
    b.follow("job:*", (m) => void received.push(m.args[0] as number));
    // One tick, one batch: ten 20 KiB messages (200 KiB together) and, in the middle, one of 100 KiB.
    for (let i = 0; i < 10; i++) {
      a.twitter("job:part", i, "p".repeat(20 * KIB));
      if (i === 4) a.twitter("job:part", 99, "h".repeat(100 * KIB));
    }
    await waitFor(() => received.length >= 10, "the ten parts arrived", 15_000);
    await sleep(300);
    assert.deepEqual(received, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], "every part, in order, and not the large one");
    const unsendable = errors.filter((error) => error instanceof UnsendableMessageError);
    assert.equal(unsendable.length, 1, errors.map(String).join("\n"));
    assert.match(String(unsendable[0]?.message), /maxMessageBytes/);
  });

  it("the halves of a split batch keep their order: a half the broker refuses holds back the next (found in review)", async (t) => {
    // The first half is refused (the publisher's quota is full), the second would be taken: it must not
    // be delivered ahead of the first.
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort(), maxUnackedPerClient: 3 });
    broker.on("error", () => undefined);
    const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort };
    const a = new Bus();
    const holder = new Bus();
    const c = new Bus();
    const linkA = await BrokerLink.connect({
      bus: a,
      ...ports,
      maxMessageBytes: KIB,
      acknowledge: ["ack:*", "hold:*"],
      importFilters: ["none:none"],
      retryDelay: { initial: 50, max: 100 },
    });
    linkA.on("error", () => undefined);
    const linkH = await BrokerLink.connect({ bus: holder, ...ports, importFilters: ["hold:*"] }); // never acknowledges
    const linkC = await BrokerLink.connect({ bus: c, ...ports, importFilters: ["ack:*", "plain:*"] });
    t.after(async () => {
      await linkA.close();
      await linkH.close();
      await linkC.close();
      broker.close();
    });
    const got: string[] = [];
    c.follow("*", (m) => void got.push(`${m.id}#${String(m.args[0])}`));
    a.twitter("hold:x", 0);
    a.twitter("hold:x", 1);
    await waitFor(() => linkA.stats.sent >= 2, "two held");
    const pad = "p".repeat(400);
    a.twitter("ack:x", 1, pad);
    a.twitter("ack:x", 2, pad);
    a.twitter("plain:x", 3, pad);
    a.twitter("plain:x", 4, pad);
    await sleep(1_500);
    assert.deepEqual(got, [], "nothing after a refused half is delivered ahead of it");
  });

  it("maxMessageBytes is checked on both ends", async () => {
    for (const bad of [0, 100, 1023.5, Number.NaN, "16"]) {
      await assert.rejects(
        Broker.start({ pubPort: await freePort(), recvPort: await freePort(), maxMessageBytes: bad as number }),
        (error: unknown) => error instanceof InvalidArgumentError && /maxMessageBytes/.test(error.message),
      );
      await assert.rejects(
        BrokerLink.connect({ bus: new Bus(), pubPort: await freePort(), recvPort: await freePort(), maxMessageBytes: bad as number }),
        (error: unknown) => error instanceof InvalidArgumentError && /maxMessageBytes/.test(error.message),
      );
    }
  });
});
