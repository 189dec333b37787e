import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import * as zmq from "zeromq";
import { toCompactEnvelope } from "../../../bridges/compact-envelope.js";
import { toEnvelope } from "../../../bridges/envelope.js";
import { Broker, BrokerLink, BrokerNoSubscriberError } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import type { BerryError } from "../../../lib/errors.js";
import { createMessage } from "../../../lib/message.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

// A PUBLISH as protocol 2 frames it: ["P", [seq, bootId, identifier, messageId, policy, …], body].
function publishFrames(seq: string, head: unknown[], lines: string[], bootId = ""): string[] {
  return ["P", JSON.stringify([seq, bootId, ...head]), lines.join("\n")];
}

// The fields of a PUB message's first frame: topic, kind, then the kind's own (see broker-protocol.ts).
function fieldsOf(frames: Buffer[] | undefined): string[] {
  return frames?.[0]?.toString().split(" ") ?? [];
}

function kindOf(frames: Buffer[]): string | undefined {
  return fieldsOf(frames)[1];
}

// A hand-written client on a real DEALER socket: it can send what no BrokerLink would.
async function publishRaw(dealer: zmq.Dealer, seq: string, head: unknown[], lines: string[]): Promise<string> {
  await dealer.send(publishFrames(seq, head, lines));
  const [kind, answeredSeq, error] = await dealer.receive();
  assert.equal(kind?.toString(), "R");
  assert.equal(answeredSeq?.toString(), seq);
  return error?.toString() ?? "";
}

function envelopeLine(identifier: string, messageId: string, arg: unknown): string {
  return JSON.stringify(
    toEnvelope(createMessage({ identifier, args: [arg], kwargs: {}, messageId, timestamp: Date.now(), hops: ["raw"] })),
  );
}

/** A raw client of `broker`'s recv port (a client id as its routing id, or the one given). */
function rawDealer(broker: Broker, routingId = randomBytes(8).toString("hex")): zmq.Dealer {
  const dealer = new zmq.Dealer({ routingId, linger: 0 });
  dealer.connect(`tcp://127.0.0.1:${broker.recvPort}`);
  return dealer;
}

describe("zeromq broker protocol: a batch is validated envelope by envelope", () => {
  let broker: Broker;
  let dealer: zmq.Dealer;
  let link: BrokerLink;
  const got: unknown[] = [];
  const linkErrors: BerryError[] = [];
  before(async () => {
    broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
    broker.on("error", () => undefined);
    const bus = new Bus();
    bus.follow("raw:*", (m) => void got.push(m.args[0]));
    link = await BrokerLink.connect({ bus, pubPort: broker.pubPort, recvPort: broker.recvPort, importFilters: ["raw:*"] });
    link.on("error", (error) => void linkErrors.push(error));
    dealer = rawDealer(broker);
  });
  after(async () => {
    dealer.close();
    await link.close();
    broker.close();
  });

  it("delivers the valid envelopes of a batch and rejects, counts and reports each bad one", async () => {
    const lines = [
      envelopeLine("raw:a", "raw/1", 1),
      "{not json",
      envelopeLine("raw:a", "raw/2", 2).replace('"kwargs":{}', '"kwargs":{"__proto__":{"polluted":true}}'),
      envelopeLine("raw:a", "raw/3", 3).replace('"v":1', '"v":2'),
      envelopeLine("raw:a", "raw/4", 4),
    ];
    const head = lines.flatMap((_, i) => ["raw:a", `raw/${i + 1}`, 0]);
    assert.equal(await publishRaw(dealer, "1", head, lines), "", "the broker routes on the head and takes the batch");
    await waitFor(() => got.length === 2 && link.stats.rejected === 3, "good envelopes in, bad ones rejected");
    assert.deepEqual(got, [1, 4]);
    assert.equal(linkErrors.length, 3, "each bad envelope reported");
    assert.match(linkErrors.map((e) => e.message).join("\n"), /not JSON[\s\S]*__proto__[\s\S]*\bv\b/);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it("validates compact envelope lines (protocol 2) as strictly: each hostile one rejected, counted and reported", async () => {
    const rejectedBefore = link.stats.rejected;
    const errorsBefore = linkErrors.length;
    const gotBefore = got.length;
    const compact = (arg: unknown, messageId: string): unknown[] => ["raw:a", [arg], {}, messageId, Date.now()];
    const deep = Array.from({ length: 70 }).reduce<unknown>((inner) => [inner], 1);
    const lines = [
      JSON.stringify(compact(21, "raw/21")),
      JSON.stringify(["raw:a", 22, {}, "raw/22", 1]), // args not an array
      JSON.stringify(["raw:a", [23], [], "raw/23", 1]), // kwargs not an object
      JSON.stringify(["raw:a", [24], {}, "raw/24", "now"]), // timestamp not a number
      JSON.stringify(["raw:a", [25], {}, 25, 1]), // messageId not a string
      JSON.stringify(compact(26, `raw/${"9".repeat(300)}`)), // a huge messageId
      JSON.stringify(["raw:a".padEnd(2_000, "a"), [27], {}, "raw/27", 1]), // a huge identifier
      '["raw:a",[28],{"__proto__":{"polluted":true}},"raw/28",1]', // a prototype key
      JSON.stringify(compact(deep, "raw/29")), // nested too deep
      JSON.stringify(["raw:a", [30], {}, "no-origin", 1]), // hops left out, and no origin to take them from
      JSON.stringify(["raw:a", [31], {}]), // too short
      JSON.stringify(compact(32, "raw/32")),
    ];
    const head = lines.flatMap(() => ["raw:a", "", 0]);
    assert.equal(await publishRaw(dealer, "c1", head, lines), "");
    await waitFor(
      () => got.length === gotBefore + 2 && link.stats.rejected === rejectedBefore + 10,
      "two good lines in, ten hostile ones rejected",
    );
    assert.deepEqual(got.slice(gotBefore), [21, 32]);
    const reported = linkErrors.slice(errorsBefore);
    assert.equal(reported.length, 10, "each hostile line reported");
    assert.deepEqual(
      reported.map((error) => (error as { field?: string }).field ?? error.name),
      [
        "args",
        "kwargs",
        "timestamp",
        "messageId",
        "messageId",
        "id",
        "kwargs.__proto__",
        `args[0]${"[0]".repeat(64)}`,
        "hops",
        "envelope",
      ],
    );
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it("refuses a batch whose head does not match its body, naming the mismatch in the receipt", async () => {
    const before = broker.stats.rejected;
    const error = await publishRaw(
      dealer,
      "2",
      ["raw:a", "raw/9", 0],
      [envelopeLine("raw:a", "raw/9", 9), envelopeLine("raw:a", "raw/10", 10)],
    );
    assert.match(error, /the head names 1 envelope\(s\), the body holds 2/);
    const badFlag = await publishRaw(dealer, "3", ["raw:a", "raw/11", 7], [envelopeLine("raw:a", "raw/11", 11)]);
    assert.match(badFlag, /head entry 0: not 0, 1 or a policy object/);
    const badPolicy = await publishRaw(dealer, "4", ["raw:a", "raw/12", { e: -1 }], [envelopeLine("raw:a", "raw/12", 12)]);
    assert.match(badPolicy, /head entry 0: expiry is not a duration in ms/);
    const unknownField = await publishRaw(dealer, "5", ["raw:a", "raw/13", { x: 1 }], [envelopeLine("raw:a", "raw/13", 13)]);
    assert.match(unknownField, /unknown policy field\(s\) x/);
    assert.equal(broker.stats.rejected, before + 4);
    await sleep(100);
    assert.ok(![9, 11, 12, 13].some((n) => got.includes(n)), "nothing of a refused batch is delivered");
  });

  it("refuses a PUBLISH whose head names no usable seq, without a receipt (nothing to name it by)", async () => {
    const before = broker.stats.rejected;
    const line = envelopeLine("raw:a", "raw/14", 14);
    await dealer.send(["P", JSON.stringify(["has space", "", "raw:a", "", 0]), line]); // a seq would break DELIVER's first frame
    await dealer.send(["P", JSON.stringify([14, "", "raw:a", "", 0]), line]); // not a string
    await dealer.send(["P", "{not json", line]);
    await dealer.send(["P", JSON.stringify(["15", "", "raw:a", "", 0])]); // no body frame
    await waitFor(() => broker.stats.rejected === before + 4, "all four refused");
    const answer = await Promise.race([dealer.receive(), sleep(300).then(() => undefined)]);
    assert.equal(answer, undefined, "no receipt");
    assert.ok(!got.includes(14), "nothing delivered");
  });
});

describe("zeromq broker protocol: a batch sent twice (a lost receipt) counts once against the quota", () => {
  it("holds the same messageIds once, and releasing them frees the whole quota", async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort(), maxUnackedPerClient: 4 });
    broker.on("error", () => undefined);
    const dealer = rawDealer(broker);
    t.after(() => {
      dealer.close();
      broker.close();
    });
    const batch = (ids: number[]): [unknown[], string[]] => [
      ids.flatMap((id) => ["dup:a", `dup/${id}`, 1]),
      ids.map((id) => envelopeLine("dup:a", `dup/${id}`, id)),
    ];
    assert.equal(await publishRaw(dealer, "1", ...batch([1, 2])), "");
    assert.equal(await publishRaw(dealer, "2", ...batch([1, 2])), "", "the same batch again, as after a lost receipt");
    assert.equal(broker.held, 2);
    assert.equal(await publishRaw(dealer, "2b", ...batch([8, 9])), "", "the quota has room for two more");
    assert.equal(
      await publishRaw(dealer, "2c", ...batch([8, 9])),
      "",
      "a retry at a full quota is not refused: it takes no room",
    );
    // Only a client the messages go to may release them: this one registers for them.
    await dealer.send(["H", JSON.stringify(["dup:*"]), "0", "c"]);
    await waitFor(() => broker.clients === 1, "registered");
    await dealer.send(["A", JSON.stringify(["dup/8", "dup/9"])]);
    await dealer.send(["A", JSON.stringify(["dup/1", "dup/2"])]);
    await waitFor(() => broker.held === 0, "both released");
    assert.equal(await publishRaw(dealer, "3", ...batch([3, 4, 5, 6])), "", "all four of the quota are free again");
    assert.equal(broker.held, 4);
    assert.match(await publishRaw(dealer, "4", ...batch([7])), /BROKER_QUOTA/);
  });
});

describe("zeromq broker protocol: an acknowledgement releases a held message only from a client it goes to", () => {
  it("ignores (and reports) an ack from a client that is not registered, or whose patterns do not match; the message stays held for its subscriber", async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
    const errors: BerryError[] = [];
    broker.on("error", (error) => void errors.push(error));
    const [publisher, stranger, other, subscriber] = [1, 2, 3, 4].map(() => rawDealer(broker)) as [
      zmq.Dealer,
      zmq.Dealer,
      zmq.Dealer,
      zmq.Dealer,
    ];
    t.after(() => {
      for (const socket of [publisher, stranger, other, subscriber]) socket.close();
      broker.close();
    });
    assert.equal(await publishRaw(publisher, "1", ["ack:a", "ack/1", 1], [envelopeLine("ack:a", "ack/1", 1)]), "");
    assert.equal(broker.held, 1);
    await other.send(["H", JSON.stringify(["else:*"]), "0", "c"]);
    await subscriber.send(["H", JSON.stringify(["ack:*"]), "0", "c"]);
    await waitFor(() => broker.clients === 2, "two registered");
    await stranger.send(["A", JSON.stringify(["ack/1"])]); // never registered
    await other.send(["A", JSON.stringify(["ack/1"])]); // registered for other messages
    await waitFor(() => broker.stats.rejected === 2, "both acks refused");
    assert.equal(broker.held, 1, "still held: before, either ack released it, and its subscriber never got it");
    assert.equal(errors.filter((error) => /ack from .* ignored/.test(error.message)).length, 2);
    await subscriber.send(["A", JSON.stringify(["ack/1"])]);
    await waitFor(() => broker.held === 0, "released by its subscriber");
    assert.equal(broker.stats.acked, 1);
  });
});

describe("zeromq broker protocol: a held message's id cannot be taken over by another client", () => {
  it("drops (and reports) an acknowledged message whose id is held for another client: the held message is not replaced, and its subscriber gets the original", async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
    const errors: BerryError[] = [];
    broker.on("error", (error) => void errors.push(error));
    const [owner, impostor] = [rawDealer(broker), rawDealer(broker)];
    const got: unknown[] = [];
    const bus = new Bus();
    bus.follow("own:*", (m) => void got.push(m.args[0]));
    let link: BrokerLink | undefined;
    t.after(async () => {
      await link?.close();
      owner.close();
      impostor.close();
      broker.close();
    });
    assert.equal(await publishRaw(owner, "1", ["own:a", "own/1", 1], [envelopeLine("own:a", "own/1", "original")]), "");
    assert.equal(await publishRaw(impostor, "1", ["own:a", "own/1", 1], [envelopeLine("own:a", "own/1", "impostor")]), "");
    assert.equal(broker.held, 1);
    assert.equal(broker.stats.rejected, 1);
    assert.match(errors[0]?.message ?? "", /held for another client/);
    // The subscriber comes later: it gets what is held for it.
    link = await BrokerLink.connect({ bus, pubPort: broker.pubPort, recvPort: broker.recvPort, importFilters: ["own:*"] });
    await waitFor(() => got.length > 0 && broker.held === 0, "the held message delivered and acknowledged");
    await sleep(200);
    assert.deepEqual(got, ["original"]);
  });
});

describe("zeromq broker protocol 2: a client of protocol 1 is refused at its HELLO", () => {
  it("refuses a HELLO without feature c (compact envelopes), naming the protocol, and sends no welcome", async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
    const errors: BerryError[] = [];
    broker.on("error", (error) => void errors.push(error));
    const dealer = rawDealer(broker);
    t.after(() => {
      dealer.close();
      broker.close();
    });
    await dealer.send(["H", JSON.stringify(["a:1"]), "0", "r"]); // what a BrokerLink of protocol 1 says
    await dealer.send(["H", JSON.stringify(["a:1"]), "0"]); // and one from before feature "r"
    await waitFor(() => errors.length === 2, "both refusals");
    assert.match(errors[0]?.message ?? "", /refused: a client of broker protocol 1 .*protocol 2/);
    assert.equal(broker.clients, 0);
    assert.equal(broker.stats.rejected, 2);
    await dealer.send(["H", JSON.stringify(["a:1"]), "0", "rc"]);
    await waitFor(() => broker.clients === 1, "a client of protocol 2 registers");
  });
});

describe("zeromq broker protocol: bounded registrations", () => {
  it("refuses a HELLO with more than maxPatterns patterns, and one more client past maxClients", async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort(), maxPatterns: 3, maxClients: 2 });
    const errors: BerryError[] = [];
    broker.on("error", (error) => void errors.push(error));
    const dealers = Array.from({ length: 3 }, () => {
      const dealer = rawDealer(broker);
      return dealer;
    });
    t.after(() => {
      for (const dealer of dealers) dealer.close();
      broker.close();
    });
    const [first, second, third] = dealers as [zmq.Dealer, zmq.Dealer, zmq.Dealer];
    await first.send(["H", JSON.stringify(["a:1", "a:2", "a:3", "a:4"]), "0", "c"]);
    await waitFor(() => errors.length === 1, "the refusal");
    assert.match(errors[0]?.message ?? "", /4 patterns, more than maxPatterns 3/);
    assert.equal(broker.clients, 0);
    await first.send(["H", JSON.stringify(["a:1"]), "0", "c"]);
    await second.send(["H", JSON.stringify(["a:1"]), "0", "c"]);
    await waitFor(() => broker.clients === 2, "two clients");
    await third.send(["H", JSON.stringify(["a:1"]), "0", "c"]);
    await waitFor(() => errors.length === 2, "the third refused");
    assert.match(errors[1]?.message ?? "", /2 clients registered already \(maxClients\)/);
    assert.equal(broker.clients, 2);
    await second.send(["B"]);
    await waitFor(() => broker.clients === 1, "second left");
    await third.send(["H", JSON.stringify(["a:1"]), "0", "c"]);
    await waitFor(() => broker.clients === 2, "room for the third now");
  });
});

// A hand-written registered client: DEALER to send, SUB to hear its own id and the broadcasts; resolves once
// the broker welcomed it on the pub port, with the bootId that welcome carried.
async function registeredClient(
  broker: Broker,
  patterns: string[] = ["none:none"],
  features = "c",
): Promise<{ id: string; dealer: zmq.Dealer; heard: Buffer[][]; bootId: string; close: () => void }> {
  const id = randomBytes(8).toString("hex");
  const dealer = rawDealer(broker, id);
  const sub = new zmq.Subscriber({ linger: 0 });
  sub.connect(`tcp://127.0.0.1:${broker.pubPort}`);
  sub.subscribe(id, "*");
  const heard: Buffer[][] = [];
  void (async () => {
    try {
      for await (const frames of sub) heard.push(frames);
    } catch {
      // closed
    }
  })();
  // Slow joiner: say hello until the welcome comes back on the pub port.
  while (!heard.some((frames) => kindOf(frames) === "W")) {
    await dealer.send(["H", JSON.stringify(patterns), "0", features]);
    await sleep(50);
  }
  const bootId = fieldsOf(heard.find((frames) => kindOf(frames) === "W"))[2] ?? "";
  const close = (): void => {
    dealer.close();
    sub.close();
  };
  return { id, dealer, heard, bootId, close };
}

describe("zeromq broker protocol: a broadcast batch carries its own receipt", () => {
  it("confirms a registered client's batch on the broadcast it hears itself when it names this broker, with no separate receipt", async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
    broker.on("error", () => undefined);
    const got: unknown[] = [];
    const bus = new Bus();
    bus.follow("rc:*", (m) => void got.push(m.args[0]));
    const link = await BrokerLink.connect({ bus, pubPort: broker.pubPort, recvPort: broker.recvPort, importFilters: ["rc:*"] });
    // Two other clients: a batch for a single one goes to it alone (see the next spec).
    const second = await BrokerLink.connect({
      bus: new Bus(),
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      importFilters: ["rc:*"],
    });
    const { id, dealer, heard, bootId, close } = await registeredClient(broker);
    t.after(async () => {
      close();
      await link.close();
      await second.close();
      broker.close();
    });
    assert.equal(bootId, broker.bootId);
    // Batch 0 names no broker: a receipt on the recv port, as for any client that has not heard this broker.
    await dealer.send(publishFrames("0", ["rc:a", "rc/0", 0], [envelopeLine("rc:a", "rc/0", 0)]));
    const [kind0, seq0] = await dealer.receive();
    assert.deepEqual([kind0?.toString(), seq0?.toString()], ["R", "0"]);
    await waitFor(() => heard.some((frames) => kindOf(frames) === "M"), "our own broadcast of batch 0");
    assert.equal(fieldsOf(heard.find((frames) => kindOf(frames) === "M")).length, 4, "batch 0's broadcast carries no seq");
    heard.length = 0;
    // Batch 1 names this broker and reaches every other client (the two links): one broadcast, which the sender hears too.
    await dealer.send(publishFrames("1", ["rc:a", "rc/1", 0], [envelopeLine("rc:a", "rc/1", 1)], bootId));
    await waitFor(() => heard.some((frames) => kindOf(frames) === "M"), "our own broadcast");
    const own = heard.find((frames) => kindOf(frames) === "M") ?? [];
    assert.deepEqual(fieldsOf(own), ["*", "M", id, "0", "1"], "topic, kind, sender, flags and the seq of the batch it confirms");
    // Batch 2 reaches nobody, so no broadcast: its receipt comes on the recv port. The ROUTER keeps order,
    // so the first receipt there being batch 2's proves that batch 1 had none.
    await dealer.send(publishFrames("2", ["nobody:a", "rc/2", 0], [envelopeLine("nobody:a", "rc/2", 2)], bootId));
    const [kind, seq, error] = await dealer.receive();
    assert.deepEqual([kind?.toString(), seq?.toString(), error?.toString()], ["R", "2", ""]);
    // A bootId of another broker (this one restarted since): a receipt on the recv port again.
    await dealer.send(publishFrames("3", ["rc:a", "rc/3", 0], [envelopeLine("rc:a", "rc/3", 3)], "an-earlier-broker"));
    const [kind3, seq3] = await dealer.receive();
    assert.deepEqual([kind3?.toString(), seq3?.toString()], ["R", "3"]);
    await waitFor(() => got.length === 3, "the link got batches 0, 1 and 3");
    assert.deepEqual(got, [0, 1, 3]);
  });

  it("sends a batch for a single other client to it alone, with the receipt on the recv port: the sender does not get it back", async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
    broker.on("error", () => undefined);
    const got: unknown[] = [];
    const bus = new Bus();
    bus.follow("rc:*", (m) => void got.push(m.args[0]));
    const link = await BrokerLink.connect({ bus, pubPort: broker.pubPort, recvPort: broker.recvPort, importFilters: ["rc:*"] });
    const { id, dealer, heard, bootId, close } = await registeredClient(broker);
    let other: BrokerLink | undefined;
    t.after(async () => {
      close();
      await link.close();
      await other?.close();
      broker.close();
    });
    heard.length = 0;
    const delivered = broker.stats.delivered;
    await dealer.send(publishFrames("1", ["rc:a", "rc/1", 0], [envelopeLine("rc:a", "rc/1", 1)], bootId));
    const [kind, seq, error] = await Promise.race([dealer.receive(), sleep(2_000).then((): Buffer[] => [])]);
    assert.deepEqual(
      [kind?.toString(), seq?.toString(), error?.toString()],
      ["R", "1", ""],
      "the receipt comes on the recv port",
    );
    await waitFor(() => got.length === 1, "the one other client got the batch");
    assert.deepEqual(got, [1]);
    assert.equal(broker.stats.delivered, delivered + 1, "one delivery");
    // With a second other client the next batch is a broadcast, which we hear; the PUB socket keeps order per
    // subscriber, so hearing no earlier DELIVER proves that batch 1 never came back to its sender.
    other = await BrokerLink.connect({
      bus: new Bus(),
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      importFilters: ["rc:*"],
    });
    await dealer.send(publishFrames("2", ["rc:a", "rc/2", 0], [envelopeLine("rc:a", "rc/2", 2)], bootId));
    await waitFor(() => heard.some((frames) => kindOf(frames) === "M"), "our own broadcast of batch 2");
    const delivers = heard.filter((frames) => kindOf(frames) === "M");
    assert.equal(delivers.length, 1, "batch 1 never came back to its sender");
    assert.deepEqual(
      fieldsOf(delivers[0]),
      ["*", "M", id, "0", "2"],
      "topic, kind, sender, flags and the seq of the batch it confirms",
    );
    await waitFor(() => got.length === 2, "the first link got batch 2 too");
  });

  it("keeps sending separate receipts to a client that never registered, and for batches holding acknowledged messages", async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
    broker.on("error", () => undefined);
    const link = await BrokerLink.connect({
      bus: new Bus(),
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      importFilters: ["rc:*"],
    });
    const publisher = await BrokerLink.connect({
      bus: new Bus(),
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      importFilters: ["none:none"],
      acknowledge: ["rc:acked"],
    });
    const dealer = rawDealer(broker);
    t.after(async () => {
      dealer.close();
      await publisher.close();
      await link.close();
      broker.close();
    });
    assert.equal(
      await publishRaw(dealer, "1", ["rc:a", "rc/1", 0], [envelopeLine("rc:a", "rc/1", 1)]),
      "",
      "unregistered: a receipt on the recv port",
    );
    let acked = 0;
    link.bus.follow("rc:acked", () => void acked++);
    publisher.bus.twitter("rc:acked", 1);
    publisher.bus.twitter("rc:plain", 2);
    await waitFor(() => acked === 1 && broker.stats.acked === 1 && publisher.backlog === 0, "acknowledged and confirmed");
    assert.equal(publisher.stats.retries, 0, "confirmed by its receipt, not after a timeout");
  });
});

describe("zeromq broker protocol: a receipt rides on the next delivery to its client", () => {
  const delivers = (heard: Buffer[][]): Buffer[][] => heard.filter((frames) => kindOf(frames) === "M");

  it("gives a client whose HELLO has feature r, in a conversation, the receipt of its batch as the seq field of the next DELIVER to it", async (t) => {
    // A long receiptDelay: within this test a receipt can only come riding on a delivery.
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort(), receiptDelay: 60_000 });
    broker.on("error", () => undefined);
    const a = await registeredClient(broker, ["pong:*"], "rc");
    const b = await registeredClient(broker, ["ping:*"], "rc");
    t.after(() => {
      a.close();
      b.close();
      broker.close();
    });
    // a has been sent no delivery yet: a client that only publishes gets its receipt at once.
    await a.dealer.send(publishFrames("1", ["ping:a", "", 0], [envelopeLine("ping:a", "a/1", 1)], a.bootId));
    const [kind, seq] = await Promise.race([a.dealer.receive(), sleep(5_000).then((): Buffer[] => [])]);
    assert.deepEqual([kind?.toString(), seq?.toString()], ["R", "1"], "not in a conversation: the receipt at once, alone");
    await waitFor(() => delivers(b.heard).length === 1, "b got the ping");
    assert.equal(fieldsOf(delivers(b.heard)[0]).length, 4, "b owes nothing yet: no receipt rides on its delivery");
    // b was just sent the ping: the receipt of its answer waits for the next delivery to b.
    await b.dealer.send(publishFrames("7", ["pong:a", "", 0], [envelopeLine("pong:a", "b/7", 7)], b.bootId));
    await waitFor(() => delivers(a.heard).length === 1, "a got the pong");
    await a.dealer.send(publishFrames("2", ["ping:a", "", 0], [envelopeLine("ping:a", "a/2", 2)], a.bootId));
    await waitFor(() => delivers(b.heard).length === 2, "b got the second ping");
    assert.deepEqual(
      fieldsOf(delivers(b.heard)[1]),
      [b.id, "M", a.id, "0", "7"],
      "the second ping carries the receipt of b's batch 7",
    );
    await b.dealer.send(publishFrames("8", ["pong:a", "", 0], [envelopeLine("pong:a", "b/8", 8)], b.bootId));
    await waitFor(() => delivers(a.heard).length === 2, "a got the second pong");
    assert.equal(fieldsOf(delivers(a.heard)[1])[4], "2", "the second pong carries the receipt of a's batch 2");
  });

  it("sends the receipt alone once receiptDelay has passed without a delivery to its client", async (t) => {
    // receiptDelay 1,000 ms: a stays in a conversation (sent a delivery within ten of them) through the test.
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort(), receiptDelay: 1_000 });
    broker.on("error", () => undefined);
    const a = await registeredClient(broker, ["pong:*"], "rc");
    const b = await registeredClient(broker, ["ping:*"]);
    t.after(() => {
      a.close();
      b.close();
      broker.close();
    });
    await b.dealer.send(publishFrames("1", ["pong:a", "", 0], [envelopeLine("pong:a", "b/1", 1)], b.bootId));
    await waitFor(() => delivers(a.heard).length === 1, "a was sent a delivery");
    await a.dealer.send(publishFrames("1", ["ping:a", "", 0], [envelopeLine("ping:a", "a/1", 1)], a.bootId));
    const [kind, seq, error] = await Promise.race([a.dealer.receive(), sleep(5_000).then((): Buffer[] => [])]);
    assert.deepEqual(
      [kind?.toString(), seq?.toString(), error?.toString()],
      ["R", "1", ""],
      "the receipt, alone, on the recv port",
    );
    assert.equal(delivers(b.heard).length, 1, "b got the ping");
  });

  it("owes receipts to several clients at once: each rides on a delivery to its own client or goes alone after receiptDelay, and a client that left is owed nothing", async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort(), receiptDelay: 800 });
    broker.on("error", () => undefined);
    const a = await registeredClient(broker, ["to-a:*"], "rc");
    const b = await registeredClient(broker, ["to-b:*"], "rc");
    const c = await registeredClient(broker, ["to-c:*"], "rc");
    const d = await registeredClient(broker, ["none:none"]);
    t.after(() => {
      for (const client of [a, b, c, d]) client.close();
      broker.close();
    });
    const receipts = (client: { dealer: zmq.Dealer }): Buffer[][] => {
      const got: Buffer[][] = [];
      void (async () => {
        try {
          for await (const frames of client.dealer) got.push(frames);
        } catch {
          // closed
        }
      })();
      return got;
    };
    const [fromA, fromB, fromC] = [receipts(a), receipts(b), receipts(c)];
    // d puts a, b and c in a conversation: each was sent a delivery just now.
    for (const [i, client, to] of [
      [1, a, "to-a:x"],
      [2, b, "to-b:x"],
      [3, c, "to-c:x"],
    ] as const) {
      await d.dealer.send(publishFrames(String(i), [to, "", 0], [envelopeLine(to, `d/${i}`, i)], d.bootId));
      await waitFor(() => delivers(client.heard).length === 1, `${to} delivered`);
    }
    // All three publish to each other: three receipts owed at once.
    await a.dealer.send(publishFrames("11", ["to-b:y", "", 0], [envelopeLine("to-b:y", "a/11", 11)], a.bootId));
    await waitFor(() => delivers(b.heard).length === 2, "b got a's message");
    await b.dealer.send(publishFrames("21", ["to-a:y", "", 0], [envelopeLine("to-a:y", "b/21", 21)], b.bootId));
    await c.dealer.send(publishFrames("31", ["none:none", "", 0], [envelopeLine("none:none", "c/31", 31)], c.bootId));
    c.dealer.send(["B"]).catch(() => undefined); // c leaves with its receipt owed
    await waitFor(() => delivers(a.heard).length === 2, "a got b's message");
    assert.equal(fieldsOf(delivers(a.heard)[1])[4], "11", "b's message to a carries a's receipt 11");
    await waitFor(() => fromB.length === 1, "b's receipt goes alone after receiptDelay", 5_000);
    assert.deepEqual(
      fromB[0]?.map((frame) => frame.toString()),
      ["R", "21", ""],
      "b's receipt, alone",
    );
    await sleep(1_200);
    assert.equal(fromA.length, 0, "a's receipt rode on a delivery: no R follows");
    assert.equal(fromC.length, 0, "c left: its owed receipt is dropped");
    assert.equal(fromB.length, 1, "b's receipt goes once");
    // The queue of owed receipts goes on working after all that.
    await a.dealer.send(publishFrames("12", ["to-b:z", "", 0], [envelopeLine("to-b:z", "a/12", 12)], a.bootId));
    await waitFor(() => fromA.length === 1, "a's next receipt goes alone after receiptDelay", 5_000);
    assert.deepEqual(
      fromA[0]?.map((frame) => frame.toString()),
      ["R", "12", ""],
    );
  });

  it("lets a BrokerLink take the receipts that ride on deliveries: its batches are confirmed without a separate receipt or a retry", async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort(), receiptDelay: 60_000 });
    broker.on("error", () => undefined);
    const link = await BrokerLink.connect({
      bus: new Bus(),
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      importFilters: ["pong:*"],
      sendTimeout: 30_000,
    });
    const echo = await registeredClient(broker, ["ping:*"]);
    t.after(async () => {
      echo.close();
      await link.close();
      broker.close();
    });
    let pongs = 0;
    link.bus.follow("pong:*", () => void pongs++);
    // Whatever the link sent at start (its neighbour list) is confirmed by the first delivery to it.
    await echo.dealer.send(publishFrames("1", ["pong:a", "", 0], [envelopeLine("pong:a", "e/1", 1)], echo.bootId));
    await waitFor(() => pongs === 1 && link.backlog === 0, "the first pong, and nothing waiting");
    link.bus.twitter("ping:a", 1);
    await waitFor(() => delivers(echo.heard).length === 1, "the echo got the ping");
    assert.equal(link.stats.sent, 0, "not confirmed yet");
    await echo.dealer.send(publishFrames("2", ["pong:a", "", 0], [envelopeLine("pong:a", "e/2", 2)], echo.bootId));
    await waitFor(() => link.stats.sent === 1 && pongs === 2, "the ping confirmed by the pong");
    assert.equal(link.stats.retries, 0, "confirmed by the receipt on the pong, not by a resend");
  });
});

describe("zeromq broker protocol: a receipt that comes after its batch timed out", () => {
  interface Publish {
    id: Buffer;
    seq: string;
    messageId: string;
  }
  // A hand-written broker that welcomes every hello and answers a PUBLISH only as `answer` says (none
  // by default): the spec decides which receipt goes out, and when.
  async function fakeBroker(t: { after(fn: () => void): void }) {
    const router = new zmq.Router({ linger: 0 });
    const pub = new zmq.Publisher({ linger: 0 });
    const recvPort = await freePort();
    const pubPort = await freePort();
    await router.bind(`tcp://127.0.0.1:${recvPort}`);
    await pub.bind(`tcp://127.0.0.1:${pubPort}`);
    const state = {
      recvPort,
      pubPort,
      publishes: [] as Publish[],
      answer: undefined as ((publish: Publish) => string[]) | undefined,
      receipt: (publish: Publish, rest: string[]) => router.send([publish.id, "R", publish.seq, ...rest]),
    };
    void (async () => {
      try {
        for await (const frames of router) {
          const [id, kind] = frames;
          if (kind?.toString() === "H") await pub.send([`${id?.toString()} W fake-boot ${frames[3]?.toString() ?? "0"}`]);
          if (kind?.toString() !== "P") continue;
          const head = JSON.parse(frames[2]?.toString() ?? "[]") as string[];
          const publish = { id: id as Buffer, seq: head[0] ?? "", messageId: head[3] ?? "" };
          state.publishes.push(publish);
          if (state.answer !== undefined) await state.receipt(publish, state.answer(publish));
        }
      } catch {
        // closed
      }
    })();
    t.after(() => {
      router.close();
      pub.close();
    });
    return state;
  }

  it("reports no refusal for a message being sent again: the receipt of the batch sent again decides", async (t) => {
    const broker = await fakeBroker(t);
    const link = await BrokerLink.connect({
      bus: new Bus(),
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      importFilters: ["none:none"],
      acknowledge: [{ filter: "pay:*", noSubscriber: "refuse" }],
      sendTimeout: 200,
      retryDelay: { initial: 50, max: 50 },
    });
    t.after(() => link.close());
    const errors: BerryError[] = [];
    link.on("error", (error) => void errors.push(error));
    const refusals = () =>
      errors.filter((e) => e instanceof BrokerNoSubscriberError).map((e) => (e as BrokerNoSubscriberError).identifier);

    link.bus.twitter("pay:now", 1);
    // The broker was too slow: the link gave up on the first send and sent the batch again.
    await waitFor(() => broker.publishes.length >= 2, "the batch sent again after its receipt timed out");
    const [first, ...again] = broker.publishes;
    assert.ok(first !== undefined && again.every((p) => p.messageId === first.messageId), "the same message each time");
    // The late receipt of the first send refuses it (nobody subscribed then); the sends after it are taken
    // (a subscriber came meanwhile): the message was delivered, so it must not be reported refused.
    await broker.receipt(first, ["", JSON.stringify([[first.messageId, "pay:now"]])]);
    broker.answer = () => [""];
    for (const publish of again) await broker.receipt(publish, [""]);
    await waitFor(() => link.stats.sent === 1 && link.backlog === 0, "the batch confirmed by a later receipt");
    assert.deepEqual(refusals(), []);

    // The other way round: every send is refused, and the message is reported once, by the receipt that
    // settled its batch.
    const sent = broker.publishes.length;
    broker.answer = undefined;
    link.bus.twitter("pay:later", 2);
    await waitFor(() => broker.publishes.length >= sent + 2, "the second batch sent twice");
    const refuse = (publish: Publish) => ["", JSON.stringify([[publish.messageId, "pay:later"]])];
    broker.answer = refuse;
    for (const publish of broker.publishes.slice(sent)) await broker.receipt(publish, refuse(publish));
    await waitFor(() => link.stats.sent === 2 && link.backlog === 0, "the second batch confirmed");
    await waitFor(() => refusals().length > 0, "the refusal");
    assert.deepEqual(refusals(), ["pay:later"], "one refusal, from the receipt that settled the batch");
  });
});

describe("zeromq broker protocol: a BrokerLink reads DELIVER frames strictly", () => {
  // A hand-written broker that welcomes every hello, answers no PUBLISH and sends what the spec says.
  async function scriptedBroker(t: { after(fn: () => void): void }) {
    const router = new zmq.Router({ linger: 0 });
    const pub = new zmq.Publisher({ linger: 0 });
    const recvPort = await freePort();
    const pubPort = await freePort();
    await router.bind(`tcp://127.0.0.1:${recvPort}`);
    await pub.bind(`tcp://127.0.0.1:${pubPort}`);
    const heard: string[][] = [];
    void (async () => {
      try {
        for await (const [id, ...frames] of router) {
          const kind = frames[0]?.toString();
          if (kind === "H") await pub.send([`${id?.toString()} W fake-boot ${frames[2]?.toString() ?? "0"}`]);
          else heard.push(frames.map((frame) => frame.toString()));
        }
      } catch {
        // closed
      }
    })();
    t.after(() => {
      router.close();
      pub.close();
    });
    return { recvPort, pubPort, heard, send: (frames: string[]) => pub.send(frames) };
  }

  const line = (identifier: string, n: number): string =>
    JSON.stringify(
      toCompactEnvelope(
        toEnvelope(
          createMessage({ identifier, args: [n], kwargs: {}, messageId: `far/${n}`, timestamp: Date.now(), hops: ["far"] }),
        ),
      ),
    );

  it("delivers well-formed ones, takes a carried receipt only from a seq of digits on a delivery to it, and rejects and reports flags that do not match", async (t) => {
    const broker = await scriptedBroker(t);
    const bus = new Bus();
    const got: unknown[] = [];
    bus.follow("in:*", (m) => void got.push(m.args[0]));
    const link = await BrokerLink.connect({ bus, pubPort: broker.pubPort, recvPort: broker.recvPort, importFilters: ["in:*"] });
    t.after(() => link.close());
    const errors: BerryError[] = [];
    link.on("error", (error) => void errors.push(error));
    const me = link.clientId;
    const other = "f".repeat(me.length);

    await broker.send([`${me} M ${other} 0`, line("in:a", 1)]);
    await waitFor(() => got.length === 1, "a delivery to this client");
    await broker.send([`* M ${other} 00`, `${line("in:a", 2)}\n${line("in:a", 3)}`]);
    await waitFor(() => got.length === 3, "a broadcast of two lines");

    // A batch of this link's waits for its receipt (the broker answers none); a seq that is not digits,
    // or rides on a broadcast, is no receipt of it (the lines are delivered all the same).
    link.bus.twitter("out:x", 1);
    await waitFor(() => broker.heard.some((frames) => frames[0] === "P"), "the link's batch");
    const seq = (JSON.parse(broker.heard.find((frames) => frames[0] === "P")?.[1] ?? "[]") as string[])[0];
    await broker.send([`${me} M ${other} 0 x${seq}`, line("in:a", 4)]);
    await broker.send([`* M ${other} 0 ${seq}`, line("in:a", 5)]);
    await waitFor(() => got.length === 5, "both delivered");
    assert.equal(link.stats.sent, 0, "not confirmed by either");
    // Its own batch, broadcast back with a seq that is not its own: nothing is delivered or confirmed.
    await broker.send([`* M ${me} 0 999`, line("in:a", 6)]);
    // The receipt riding on a delivery to it, with a leading zero (the broker echoes the seq as sent).
    await broker.send([`${me} M ${other} 0 0${seq}`, line("in:a", 7)]);
    await waitFor(() => link.stats.sent === 1, "confirmed by the carried receipt");
    assert.deepEqual(got, [1, 2, 3, 4, 5, 7], "its own batch was not delivered to it");

    // Flags that do not match the lines, a flag that is no 0 or 1, an extra field: each rejected and reported.
    const rejected = link.stats.rejected;
    await broker.send([`${me} M ${other} 0`, `${line("in:a", 8)}\n${line("in:a", 9)}`]);
    await broker.send([`${me} M ${other} 2`, line("in:a", 10)]);
    await broker.send([`${me} M ${other} 0 1 2`, line("in:a", 11)]);
    await broker.send([`${me} M ${other}`, line("in:a", 12)]);
    await broker.send([`${me} M ${other} 0`, ""]);
    await waitFor(() => link.stats.rejected === rejected + 6, "every bad delivery rejected");
    await broker.send([`${me} M ${other} 1`, line("in:a", 13)]);
    await waitFor(() => got.includes(13), "a good one after them");
    assert.equal(got.length, 7, "none of the bad ones delivered");
    assert.equal(errors.filter((error) => error.message.includes("flags do not match")).length, 5);
    // The acknowledged one is acknowledged.
    await waitFor(() => broker.heard.some((frames) => frames[0] === "A" && frames[1] === JSON.stringify(["far/13"])), "its ack");
  });
});
