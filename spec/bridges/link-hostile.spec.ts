// A far side that lies: forged `to`/`inReplyTo` used to slip past a bus's filters, and floods of answers.
// The hostile far process is played by frames handed straight to the receiving link (the Link base's
// rules are what is under test; every transport calls the same `receive`).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus } from "../../lib/bus.js";
import type { Message } from "../../lib/message.js";
import { MAX_ANSWERS_PER_REQUEST, within } from "../../lib/request.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { sleep } from "../helpers/wait-for.js";

let forged = 0;
function frame(fields: Record<string, unknown>): Record<string, unknown> {
  return { v: 1, args: [], kwargs: {}, messageId: `hostile/${++forged}`, timestamp: Date.now(), hops: ["hostile"], ...fields };
}

// hostile ⇄ middle ⇄ victim, with the filters of each test on the middle bus's links.
function chain(toMiddle: { importFilters?: string[] }, toVictim: { exportFilters?: string[] }) {
  const hostile = new Bus({ id: "hostile" });
  const middle = new Bus({ id: "middle" });
  const victim = new Bus({ id: "victim" });
  const [fromHostile, inMiddle] = MemoryLink.pair({ bus: hostile }, { bus: middle, ...toMiddle });
  const [outOfMiddle, inVictim] = MemoryLink.pair({ bus: middle, ...toVictim }, { bus: victim });
  const got: string[] = [];
  victim.follow("admin:*", (m: Message) => void got.push(m.id));
  return {
    hostile,
    middle,
    victim,
    inMiddle,
    got,
    close: async () => {
      for (const link of [fromHostile, inMiddle, outOfMiddle, inVictim]) await link.close();
      for (const bus of [hostile, middle, victim]) bus.close();
    },
  };
}

describe("Link against a lying far side", () => {
  it("a forged answer (inReplyTo) to another bus does not slip past the export filters", async () => {
    const net = chain({}, { exportFilters: ["public:*"] });
    net.inMiddle.accept(frame({ id: "admin:shutdown", to: "victim", inReplyTo: "victim/1" }));
    net.inMiddle.accept(frame({ id: "admin:plain" })); // control: not exported, as expected
    await sleep(50);
    assert.deepEqual(net.got, [], "middle exports public:* only: nothing else reaches the victim");
    // A real answer to the victim's request still crosses the middle bus.
    net.hostile.follow("svc:ping", () => "pong");
    assert.equal(await net.victim.ask("svc:ping", within({ timeout: 2_000 })), "pong");
    await net.close();
  });

  it("a message addressed to another bus (to) does not slip past the import filters", async () => {
    const net = chain({ importFilters: ["public:*"] }, {});
    net.inMiddle.accept(frame({ id: "admin:shutdown", to: "victim" }));
    await sleep(50);
    assert.deepEqual(net.got, [], "middle imports public:* only from the hostile side");
    assert.equal(net.inMiddle.stats.received, 0);
    await net.close();
  });

  it("forged hops claiming a short route to the asker do not divert its answers", async () => {
    // victim ⇄ middle ⇄ answerer ⇄ hostile: the hostile side claims the victim is right behind it.
    const victim = new Bus({ id: "victim" });
    const middle = new Bus({ id: "middle" });
    const answerer = new Bus({ id: "answerer" });
    const hostile = new Bus({ id: "hostile" });
    const links = [
      ...MemoryLink.pair({ bus: victim }, { bus: middle }),
      ...MemoryLink.pair({ bus: middle }, { bus: answerer }),
      ...MemoryLink.pair({ bus: answerer }, { bus: hostile }),
    ];
    const [, , , , fromHostile, hostileSide] = links as [MemoryLink, MemoryLink, MemoryLink, MemoryLink, MemoryLink, MemoryLink];
    fromHostile.accept(frame({ id: "noise:x", hops: ["victim", "hostile"] }));
    fromHostile.accept(frame({ id: "noise:y", hops: ["victim"] }));
    answerer.follow("svc:ping", () => "pong");
    assert.equal(await victim.ask("svc:ping", within({ timeout: 2_000 })), "pong");
    await sleep(30);
    assert.equal(hostileSide.answersReceived, 0, "the answer went back the way the request came, not to the liar");
    for (const link of links) await link.close();
    for (const bus of [victim, middle, answerer, hostile]) bus.close();
  });

  it("an error answer's name and message from a far side are bounded like the ones this side sends", async () => {
    const asker = new Bus({ id: "asker" });
    const hostile = new Bus({ id: "hostile" });
    const [askerSide, hostileSide] = MemoryLink.pair({ bus: asker }, { bus: hostile });
    let requestId = "";
    hostile.follow("svc:err", (m: Message) => {
      requestId = m.messageId;
    });
    const pending = asker.request("svc:err", within({ timeout: 3_000 }));
    while (requestId === "") await sleep(2);
    const error = { name: "N".repeat(50_000), message: "m".repeat(500_000) };
    askerSide.accept(frame({ id: "berrymq-reply:asker", kwargs: { error }, to: "asker", inReplyTo: requestId }));
    const [answer] = await pending;
    assert.ok(answer !== undefined && !answer.ok);
    assert.equal(answer.error.remoteName.length, 200);
    assert.ok(answer.error.message.length < 4_500, `message of ${answer.error.message.length} characters`);
    await askerSide.close();
    await hostileSide.close();
    asker.close();
    hostile.close();
  });

  it(`a flood of answers to one count:"all" request keeps at most ${MAX_ANSWERS_PER_REQUEST}`, async () => {
    const asker = new Bus({ id: "asker" });
    const hostile = new Bus({ id: "hostile" });
    const [askerSide, hostileSide] = MemoryLink.pair({ bus: asker }, { bus: hostile });
    let requestId = "";
    hostile.follow("svc:all", (m: Message) => {
      requestId = m.messageId;
    });
    const pending = asker.request("svc:all", within({ count: "all", timeout: 3_000 }));
    while (requestId === "") await sleep(2);
    for (let i = 0; i < MAX_ANSWERS_PER_REQUEST + 500; i++) {
      askerSide.accept(frame({ id: "berrymq-reply:asker", args: [i], to: "asker", inReplyTo: requestId }));
    }
    const answers = await pending;
    assert.equal(answers.length, MAX_ANSWERS_PER_REQUEST, "the rest is dropped, not kept until the timeout");
    assert.equal(asker.pendingRequests, 0, "the request is settled once it holds the most answers it may keep");
    await askerSide.close();
    await hostileSide.close();
    asker.close();
    hostile.close();
  });
});
