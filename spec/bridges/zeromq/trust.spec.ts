// Issue 10, trust gaps: the broker holds and releases an acknowledged message by its PUBLISH head's
// messageId, subscribers de-duplicate and acknowledge by the line's. An acknowledged line is therefore
// checked (a valid envelope, the head's identifier and messageId) and refused for good, per line, when it
// fails: the receipt names it, the sender's BrokerLink reports BrokerRefusedError and does not send it again.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { toCompactEnvelope } from "../../../bridges/compact-envelope.js";
import { toEnvelope } from "../../../bridges/envelope.js";
import { UnsendableMessageError } from "../../../bridges/errors.js";
import { Broker, BrokerLink, BrokerRefusedError } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import type { BerryError } from "../../../lib/errors.js";
import { createMessage } from "../../../lib/message.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

function line(identifier: string, messageId: string, arg: unknown, hops = [messageId.split("/")[0] as string]): string {
  return JSON.stringify(
    toCompactEnvelope(toEnvelope(createMessage({ identifier, args: [arg], messageId, timestamp: Date.now(), hops }))),
  );
}

function rawDealer(broker: Broker): zmq.Dealer {
  const dealer = new zmq.Dealer({ routingId: randomBytes(8).toString("hex"), linger: 0 });
  dealer.connect(`tcp://127.0.0.1:${broker.recvPort}`);
  return dealer;
}

// Publishes one batch and returns its receipt's frames after "R": seq, error, noSubscriber, invalid.
async function publish(dealer: zmq.Dealer, seq: string, head: unknown[], lines: string[]): Promise<string[]> {
  await dealer.send(["P", JSON.stringify([seq, "", ...head]), lines.join("\n")]);
  const [kind, ...rest] = await dealer.receive();
  assert.equal(kind?.toString(), "R");
  return rest.map((frame) => frame.toString());
}

async function setUp(t: { after(fn: () => Promise<void> | void): void }) {
  const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort(), resendInterval: 100 });
  const brokerErrors: BerryError[] = [];
  broker.on("error", (error) => void brokerErrors.push(error));
  const bus = new Bus({ id: "subscriber" });
  const got: unknown[] = [];
  bus.follow("pay:*", (m) => void got.push(m.args[0]));
  const subscriber = await BrokerLink.connect({
    bus,
    pubPort: broker.pubPort,
    recvPort: broker.recvPort,
    importFilters: ["pay:*"],
  });
  const subscriberErrors: BerryError[] = [];
  subscriber.on("error", (error) => void subscriberErrors.push(error));
  const dealers: zmq.Dealer[] = [];
  t.after(async () => {
    for (const dealer of dealers) dealer.close();
    await subscriber.close();
    broker.close();
  });
  const dealer = (): zmq.Dealer => {
    const made = rawDealer(broker);
    dealers.push(made);
    return made;
  };
  return { broker, brokerErrors, subscriber, subscriberErrors, got, dealer };
}

describe("zeromq broker trust: an acknowledged line must match its head", () => {
  it("a line carrying another client's messageId under a head of its own is refused: the victim's message is still delivered (before: dispatched as the forgery, the real one dropped as its duplicate and released unseen)", async (t) => {
    const { broker, got, dealer } = await setUp(t);
    const attacker = dealer();
    const victim = dealer();
    const [seq, error, , invalid] = await publish(
      attacker,
      "1",
      ["pay:x", "att/1", 1],
      [line("pay:x", "vic/1", "forged", ["att"])],
    );
    await sleep(100);
    const [, victimError, , victimInvalid] = await publish(victim, "1", ["pay:x", "vic/1", 1], [line("pay:x", "vic/1", "real")]);
    await waitFor(() => got.length > 0, "a delivery");
    await sleep(300);
    assert.deepEqual(got, ["real"], "the victim's message delivered, the forgery to nobody");
    await waitFor(() => broker.held === 0, "the victim's message acknowledged");
    assert.equal(seq, "1");
    assert.equal(error, "", "the batch is taken; its line is refused");
    assert.deepEqual(JSON.parse(invalid ?? "null"), [["att/1", "pay:x", "its line's messageId \"vic/1\" is not its head's"]]);
    assert.equal(broker.stats.invalid, 1);
    assert.equal(victimError, "");
    assert.equal(victimInvalid, undefined, "a good batch's receipt names nothing refused");
  });

  it("each bad acknowledged line of a batch is refused alone (not JSON, not an envelope, another identifier or messageId); the good lines around them are delivered and unacknowledged lines are routed unread", async (t) => {
    const { broker, brokerErrors, got, dealer } = await setUp(t);
    const client = dealer();
    const lines = [
      line("pay:x", "c/1", "good-1"),
      "{not json",
      JSON.stringify(["pay:x", ["deep"], { a: Array.from({ length: 70 }).reduce<unknown>((inner) => [inner], 1) }, "c/3", 1]),
      line("pay:other", "c/4", "other identifier"),
      line("pay:x", "c/55", "other messageId"),
      line("pay:x", "c/6", "good-6"),
      line("pay:x", "c/999", "unacknowledged, id not checked"),
    ];
    const head = [
      "pay:x",
      "c/1",
      1,
      "pay:x",
      "c/2",
      1,
      "pay:x",
      "c/3",
      1,
      "pay:x",
      "c/4",
      1,
      "pay:x",
      "c/5",
      1,
      "pay:x",
      "c/6",
      1,
    ];
    head.push("pay:x", "", 0);
    const [, error, noSubscriber, invalid] = await publish(client, "7", head, lines);
    assert.equal(error, "");
    assert.equal(noSubscriber, "[]", "an empty noSubscriber list before the invalid one (older clients read it)");
    const refused = JSON.parse(invalid ?? "null") as string[][];
    assert.deepEqual(
      refused.map(([messageId]) => messageId),
      ["c/2", "c/3", "c/4", "c/5"],
    );
    assert.match(refused[0]?.[2] ?? "", /not JSON/);
    assert.match(refused[1]?.[2] ?? "", /not a valid envelope.*(deep|depth|nest)/i);
    assert.match(refused[2]?.[2] ?? "", /identifier "pay:other"/);
    assert.match(refused[3]?.[2] ?? "", /messageId "c\/55"/);
    await waitFor(() => got.length === 3 && broker.held === 0, "the good lines delivered and acknowledged");
    assert.deepEqual(got, ["good-1", "good-6", "unacknowledged, id not checked"]);
    assert.equal(broker.stats.invalid, 4);
    const typed = brokerErrors.filter((e) => e instanceof BrokerRefusedError);
    assert.equal(typed.length, 4, "each refusal reported on the broker, typed");
    await sleep(300);
    assert.equal(broker.stats.resent, 0, "nothing refused is resent");
  });
});

describe("zeromq broker trust: a BrokerLink's acknowledged message the broker refuses gets one outcome at once", () => {
  it("a message no subscriber would take (65 hops) is refused by the link before it is sent (since r27; the broker refused it before): UnsendableMessageError naming it, counted, not held; the messages after it flow", async (t) => {
    const { broker, got, subscriber, subscriberErrors } = await setUp(t);
    const bus = new Bus({ id: "sender" });
    const sender = await BrokerLink.connect({
      bus,
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      exportFilters: ["pay:*"],
      acknowledge: ["pay:*"],
    });
    const errors: BerryError[] = [];
    sender.on("error", (error) => void errors.push(error));
    t.after(async () => void (await sender.close()));
    // Came from 64 buses away: with this bus's own hop it is past the 64 a receiver takes.
    const hops = Array.from({ length: 64 }, (_, i) => `far${i}`);
    bus.inject(createMessage({ identifier: "pay:far", args: ["too far"], messageId: "far0/1", hops }));
    await waitFor(() => errors.length > 0, "the refusal reported on the sender's link", 3_000);
    const [refused] = errors;
    // The link checks what a receiver's envelope check would refuse (r27): it never reaches the broker.
    assert.ok(refused instanceof UnsendableMessageError, `an UnsendableMessageError, not ${String(refused)}`);
    assert.match(refused.message, /"pay:far" \(far0\/1\) not sent: .*hops/);
    assert.equal(sender.stats.dropped, 1);
    assert.equal(sender.brokerStats.refused, 0, "the broker never saw it");
    bus.twitter("pay:near", "near");
    await waitFor(() => got.includes("near"), "the next message delivered");
    await waitFor(() => broker.held === 0, "the next message acknowledged");
    await sleep(400);
    assert.deepEqual(got, ["near"]);
    assert.equal(errors.length, 1, "reported once");
    assert.equal(sender.stats.retries, 0, "the batch settled, not retried");
    assert.equal(broker.stats.resent, 0, "nothing resent");
    assert.equal(subscriber.stats.rejected, 0, "the subscriber never had to refuse it");
    assert.deepEqual(subscriberErrors, []);
  });
});

describe("zeromq broker trust: a message whose id another client holds is not confirmed", () => {
  it("a BrokerLink's acknowledged message whose messageId another client holds already gets BrokerRefusedError, not a silent drop", async (t) => {
    const { broker, dealer } = await setUp(t);
    const bus = new Bus({ id: "victim" });
    // A bus's own next messageIds cannot be guessed (they end with random characters), but a message it
    // relays carries the id it came with: a squatter that saw it elsewhere (another link) may be first here.
    const next = "far/7Qk3_x9Zb";
    const squatter = dealer();
    // Nobody subscribes to solo:*: the squatter's message stays held under the id the victim will use.
    const [, error] = await publish(squatter, "1", ["solo:x", next, 1], [line("solo:x", next, "squatted")]);
    assert.equal(error, "");
    assert.equal(broker.held, 1);
    const victim = await BrokerLink.connect({
      bus,
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      // It does not subscribe to solo:* either: it would take the squatter's message in first.
      importFilters: ["other:*"],
      exportFilters: ["solo:*"],
      acknowledge: ["solo:*"],
    });
    t.after(async () => void (await victim.close()));
    const errors: BerryError[] = [];
    victim.on("error", (e) => void errors.push(e));
    bus.inject(createMessage({ identifier: "solo:x", args: ["mine"], messageId: next, hops: ["far"] }));
    await waitFor(() => victim.backlog === 0 && victim.stats.sent === 1, "the batch settled");
    await waitFor(() => errors.length === 1, "the refusal reported");
    const [refused] = errors;
    assert.ok(refused instanceof BrokerRefusedError, String(refused));
    assert.equal(refused.messageId, next);
    assert.match(refused.reason, /held for another client/);
    assert.equal(victim.brokerStats.refused, 1);
    assert.equal(victim.stats.retries, 0);
  });
});
