import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { toCompactEnvelope } from "../../../bridges/compact-envelope.js";
import { toEnvelope } from "../../../bridges/envelope.js";
import { Broker, BrokerLink, ZmqProtocolError } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import type { BerryError } from "../../../lib/errors.js";
import { createMessage } from "../../../lib/message.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

// A PUBLISH in one frame, as a broker with WELCOME feature "p" takes it: "P<headJson>\n<body>".
function oneFramePublish(seq: string, identifier: string, messageId: string, arg: unknown): string {
  const line = JSON.stringify(
    toCompactEnvelope(
      toEnvelope(createMessage({ identifier, args: [arg], kwargs: {}, messageId, timestamp: Date.now(), hops: ["raw"] })),
    ),
  );
  return `P${JSON.stringify([seq, "", identifier, "", 0])}\n${line}`;
}

// A hand-written client: DEALER to send, SUB to hear its own id; resolves once welcomed, with the welcome's fields.
async function rawClient(broker: Broker): Promise<{ dealer: zmq.Dealer; welcome: string[]; close: () => void }> {
  const id = randomBytes(8).toString("hex");
  const dealer = new zmq.Dealer({ routingId: id, linger: 0 });
  dealer.connect(`tcp://127.0.0.1:${broker.recvPort}`);
  const sub = new zmq.Subscriber({ linger: 0 });
  sub.connect(`tcp://127.0.0.1:${broker.pubPort}`);
  sub.subscribe(id);
  let welcome: string[] | undefined;
  void (async () => {
    try {
      for await (const [first] of sub) {
        const fields = first?.toString().split(" ") ?? [];
        if (fields[1] === "W") welcome = fields;
      }
    } catch {
      // closed
    }
  })();
  while (welcome === undefined) {
    await dealer.send(["H", JSON.stringify(["none:none"]), "0", "c"]);
    await sleep(50);
  }
  return {
    dealer,
    welcome,
    close: () => {
      dealer.close();
      sub.close();
    },
  };
}

describe("zeromq broker: a PUBLISH in one frame", () => {
  it("a broker says feature p in its WELCOME, takes a one-frame PUBLISH as the three-frame one, and refuses a malformed one with a typed error naming it", async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
    const brokerErrors: BerryError[] = [];
    broker.on("error", (error) => void brokerErrors.push(error));
    const bus = new Bus();
    const got: unknown[] = [];
    bus.follow("one:*", (m) => void got.push(m.args[0]));
    const link = await BrokerLink.connect({ bus, pubPort: broker.pubPort, recvPort: broker.recvPort, importFilters: ["one:*"] });
    const { dealer, welcome, close } = await rawClient(broker);
    t.after(async () => {
      close();
      await link.close();
      broker.close();
    });
    assert.deepEqual(welcome.slice(1), ["W", broker.bootId, "0", "p"], "kind, bootId, version, features");

    await dealer.send([oneFramePublish("7", "one:a", "raw/1", { n: 1 })]);
    const [kind, seq, error] = await dealer.receive();
    assert.deepEqual([kind?.toString(), seq?.toString(), error?.toString()], ["R", "7", ""], "its receipt, no error");
    await waitFor(() => got.length === 1, "the link got the one-frame batch");
    assert.deepEqual(got, [{ n: 1 }]);
    assert.equal(broker.stats.received, 1);

    // No newline between head and body: refused, counted, reported with the frame's start; nothing delivered.
    const rejected = broker.stats.rejected;
    await dealer.send(['P["8","","one:a","",0]']);
    await waitFor(() => broker.stats.rejected === rejected + 1, "the frame without a newline refused");
    const refusal = brokerErrors.at(-1);
    assert.ok(refusal instanceof ZmqProtocolError);
    assert.match(refusal.message, /one-frame PUBLISH has no newline between its head and its body: "P\[\\"8\\",/);
    // A head that is not JSON: refused as the three-frame form refuses it.
    await dealer.send([`P{not json\n${JSON.stringify(["one:a", [2], {}, "raw/2", 1])}`]);
    await waitFor(() => broker.stats.rejected === rejected + 2, "the bad head refused");
    assert.match(brokerErrors.at(-1)?.message ?? "", /refused: "the head is not JSON/);
    // A head naming two lines over a body of one: refused with a receipt naming the batch.
    await dealer.send([`${oneFramePublish("9", "one:a", "raw/3", 3).replace('0]\n', '0,"one:a","",0]\n')}`]);
    const [kind9, seq9, error9] = await dealer.receive();
    assert.deepEqual([kind9?.toString(), seq9?.toString()], ["R", "9"]);
    assert.match(error9?.toString() ?? "", /the head names 2 envelope\(s\), the body holds 1/);
    await sleep(100);
    assert.deepEqual(got, [{ n: 1 }], "nothing of the refused frames delivered");
    assert.equal(broker.stats.received, 1);
  });
});

// A broker written by hand (ROUTER and PUB), welcoming with the features given: it records what a link sends.
async function fakeBroker(features: string | undefined): Promise<{
  pubPort: number;
  recvPort: number;
  publishes: Buffer[][];
  close: () => void;
}> {
  const pubPort = await freePort();
  const recvPort = await freePort();
  const router = new zmq.Router({ linger: 0 });
  const pub = new zmq.Publisher({ linger: 0 });
  await router.bind(`tcp://127.0.0.1:${recvPort}`);
  await pub.bind(`tcp://127.0.0.1:${pubPort}`);
  const bootId = randomBytes(16).toString("hex");
  const publishes: Buffer[][] = [];
  void (async () => {
    try {
      for await (const frames of router) {
        const [identity, kind] = frames;
        const id = identity?.toString() ?? "";
        if (kind?.toString() === "H") {
          const version = frames[3]?.toString() ?? "0";
          await pub.send([features === undefined ? `${id} W ${bootId} ${version}` : `${id} W ${bootId} ${version} ${features}`]);
        } else if (kind?.[0] === 0x50) {
          publishes.push(frames.slice(1));
          // The seq leads the head, in the head frame or in the one frame after the "P".
          const headText = frames.length === 2 ? (kind.toString().slice(1).split("\n")[0] ?? "") : (frames[2]?.toString() ?? "");
          const seq = String((JSON.parse(headText) as unknown[])[0]);
          await router.send([id, "R", seq, ""]);
        }
      }
    } catch {
      // closed
    }
  })();
  return {
    pubPort,
    recvPort,
    publishes,
    close: () => {
      router.close();
      pub.close();
    },
  };
}

describe("zeromq BrokerLink: one-frame PUBLISH only to a broker that takes it", () => {
  for (const [features, frameCount, what] of [
    [undefined, 3, "an older broker (a WELCOME without features): three frames"],
    ["p", 1, "a broker whose WELCOME says p: one frame"],
  ] as const) {
    it(`sends to ${what}`, async (t) => {
      const broker = await fakeBroker(features);
      const bus = new Bus();
      const link = await BrokerLink.connect({ bus, pubPort: broker.pubPort, recvPort: broker.recvPort, importFilters: ["none:none"] });
      t.after(async () => {
        await link.close();
        broker.close();
      });
      bus.twitter("one:a", { n: 1 });
      await waitFor(() => broker.publishes.length === 1, "the link's PUBLISH");
      const frames = broker.publishes[0] ?? [];
      assert.equal(frames.length, frameCount);
      const text = frames.map((frame) => frame.toString());
      const [head, body] = frameCount === 1 ? (text[0] ?? "").slice(1).split("\n") : text.slice(1);
      assert.equal(text[0]?.[0], "P");
      const parsedHead = JSON.parse(head ?? "") as unknown[];
      assert.equal(parsedHead[2], "one:a");
      assert.deepEqual((JSON.parse(body ?? "") as unknown[])[1], [{ n: 1 }]);
      await waitFor(() => link.backlog === 0, "the batch confirmed");
    });
  }

  it("sends three frames when one could pass the broker's per-frame bound (twice maxMessageBytes): a head longer than its body", async (t) => {
    const broker = await fakeBroker("p");
    const bus = new Bus();
    // 1 KiB, the least: the broker cuts a frame over 2 KiB. A long identifier and a policy make the head
    // longer than the line, so head and line together may pass 2 KiB while each is under it.
    const link = await BrokerLink.connect({
      bus,
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      importFilters: ["none:none"],
      maxMessageBytes: 1024,
      acknowledge: [{ filter: "big:*", expiry: 60_000, noSubscriber: "hold" }],
    });
    t.after(async () => {
      await link.close();
      broker.close();
    });
    bus.twitter("one:a", 1);
    await waitFor(() => broker.publishes.length === 1, "the small PUBLISH");
    assert.equal(broker.publishes[0]?.length, 1, "a small batch goes in one frame");
    const identifier = `big:${"x".repeat(925)}`;
    bus.twitter(identifier, 2);
    await waitFor(() => broker.publishes.length === 2, "the PUBLISH with the long identifier");
    const frames = broker.publishes[1] ?? [];
    assert.equal(frames.length, 3, "kind, head and body apart");
    const [head, body] = [frames[1]?.length ?? 0, frames[2]?.length ?? 0];
    assert.ok(head > body && head + body > 2048 - 2 && body <= 1024, `head ${head} and body ${body} bytes`);
    assert.equal((JSON.parse(frames[1]?.toString() ?? "") as unknown[])[2], identifier);
  });

  it("such a message reaches a subscriber through a broker at maxMessageBytes 1 KiB (as one frame, libzmq cut the link)", async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort(), maxMessageBytes: 1024 });
    broker.on("error", () => undefined);
    const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort, maxMessageBytes: 1024 };
    const sender = await BrokerLink.connect({
      bus: new Bus(),
      ...ports,
      importFilters: ["none:none"],
      acknowledge: [{ filter: "big:*", expiry: 60_000, noSubscriber: "hold" }],
    });
    const receiverBus = new Bus();
    const got: unknown[] = [];
    receiverBus.follow("big:*", (m) => void got.push(m.args[0]));
    const receiver = await BrokerLink.connect({ bus: receiverBus, ...ports, importFilters: ["big:*"] });
    t.after(async () => {
      await sender.close();
      await receiver.close();
      broker.close();
    });
    sender.bus.twitter(`big:${"x".repeat(925)}`, 2);
    await waitFor(() => got.length === 1, "the message with the long identifier", 4_000);
    assert.deepEqual(got, [2]);
  });
});
