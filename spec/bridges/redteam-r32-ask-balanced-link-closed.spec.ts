// Red team r32 (request/response): balanced calls with two answerers linked, as balancing is for. A call
// addressed to one goes out on the link to it only; when that link closes, no link still open carried it
// and nothing here may answer it (it is addressed to another bus), yet it waited for its timeout (for ever
// with `timeout: Infinity`): the other answerer's link, open since before the call, counted as carrying it.
// The README promises RequestLinkClosedError, and the addressee forgotten so that the retry goes to another.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus } from "../../lib/bus.js";
import { LinkOverflowError } from "../../bridges/errors.js";
import { LinkLostError } from "../../lib/errors.js";
import type { Message } from "../../lib/message.js";
import { within } from "../../lib/request.js";
import { RequestLinkClosedError } from "../../lib/request-errors.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { sleep } from "../helpers/wait-for.js";
import { outcome, settled } from "../helpers/settled-within.js";

// A link whose transport can say its far side is gone for good (as a PeerLink does after its ttl).
class LosingLink extends MemoryLink {
  lose(): LinkLostError {
    const lost = new LinkLostError(this.name, this.remoteBusId, "nothing has listened there for longer than the ttl");
    this.farSideLost(lost);
    return lost;
  }
}

// An asker linked to "gone" (answers the discovery call, then hangs) and "other", both from the start.
async function setup(bufferSize = 10_000) {
  const asker = new Bus({ id: "r32-blc-asker" });
  const gone = new Bus({ id: "r32-blc-gone" });
  const other = new Bus({ id: "r32-blc-other" });
  for (const bus of [asker, gone, other]) bus.on("error", () => {});
  let calls = 0;
  gone.follow("svc:who", () => (++calls === 1 ? "gone" : new Promise(() => {})));
  other.follow("svc:who", async (m) => {
    await sleep(Number(m.args[0] ?? 0));
    return "other";
  });
  const [toGone, goneBack] = LosingLink.pair({ bus: asker, bufferSize }, { bus: gone });
  toGone.on("error", () => {});
  const [toOther, otherBack] = MemoryLink.pair({ bus: asker }, { bus: other });
  await sleep(10);
  const discovered = await asker.request("svc:who", within({ balanced: true, count: 2, timeout: 2_000 }));
  assert.deepEqual(discovered.map((a) => a.bus).sort(), ["r32-blc-gone", "r32-blc-other"]);
  let lastTo: string | undefined;
  asker.on("message", (m: Message) => {
    if (m.replyTo !== undefined && m.name === "svc") lastTo = m.to;
  });
  return {
    asker,
    lastTo: () => lastTo,
    toGone,
    close: async () => {
      for (const link of [toGone, goneBack, toOther, otherBack]) await link.close();
      for (const bus of [asker, gone, other]) bus.close();
    },
  };
}

describe("red team r32: a balanced call whose addressee's link closes, another answerer linked", () => {
  it("ends with RequestLinkClosedError at once (timeout Infinity), and the retry goes to the other answerer", async () => {
    const s = await setup();
    const forever = within({ balanced: true, timeout: Number.POSITIVE_INFINITY });
    // Round-robin: one of the next two calls goes to "gone" (and hangs there), the other is answered.
    let hanging: Promise<unknown> | undefined;
    for (let i = 0; i < 2 && hanging === undefined; i++) {
      const call = s.asker.ask("svc:who", forever);
      if (s.lastTo() === "r32-blc-gone") hanging = call;
      else assert.equal(await settled(call, 2_000), "other");
    }
    assert.ok(hanging !== undefined, "a call went to gone");
    await sleep(20);
    await s.toGone.close();
    const error = await settled(hanging, 2_000);
    assert.ok(error instanceof RequestLinkClosedError, String(error));
    // Forgotten: the next calls all go to the other answerer, none waits on gone.
    for (let i = 0; i < 3; i++) assert.equal(await settled(s.asker.ask("svc:who", forever), 2_000), "other");
    assert.equal(s.asker.pendingRequests, 0);
    await s.close();
  });

  it("the addressee's link loses its far side for good (a process killed): ends at once too, caused by the loss", async () => {
    const s = await setup();
    const forever = within({ balanced: true, timeout: Number.POSITIVE_INFINITY });
    let hanging: Promise<unknown> | undefined;
    for (let i = 0; i < 2 && hanging === undefined; i++) {
      const call = s.asker.ask("svc:who", forever);
      if (s.lastTo() === "r32-blc-gone") hanging = call;
      else assert.equal(await settled(call, 2_000), "other");
    }
    assert.ok(hanging !== undefined, "a call went to gone");
    await sleep(20);
    const lost = s.toGone.lose();
    const error = await settled(hanging, 2_000);
    assert.ok(error instanceof RequestLinkClosedError, String(error));
    assert.equal(error.cause, lost);
    assert.equal(await settled(s.asker.ask("svc:who", forever), 2_000), "other");
    await s.close();
  });

  it("a call addressed to the other answerer is not ended by gone's link closing", async () => {
    const s = await setup();
    const calls: Promise<unknown>[] = [];
    let toOther: Promise<unknown> | undefined;
    for (let i = 0; i < 2 && toOther === undefined; i++) {
      const call = outcome(s.asker.ask("svc:who", 300, within({ balanced: true, timeout: 5_000 })));
      calls.push(call);
      if (s.lastTo() === "r32-blc-other") toOther = call;
    }
    assert.ok(toOther !== undefined, "a call went to other");
    await s.toGone.close();
    assert.equal(await settled(toOther, 3_000), "other");
    await s.close();
  });
  it("the addressee's link refuses the call (its buffer full, its far side down): it rejects at once with that error", async () => {
    const s = await setup(1);
    s.toGone.reachable = false;
    const balanced = within({ balanced: true, timeout: Number.POSITIVE_INFINITY });
    const outcomes: [string | undefined, Promise<unknown>][] = [];
    for (let i = 0; i < 4; i++) {
      const call = outcome(s.asker.ask("svc:who", balanced));
      outcomes.push([s.lastTo(), call]);
    }
    const toGone = outcomes.filter(([to]) => to === "r32-blc-gone").map(([, call]) => call);
    assert.equal(toGone.length, 2);
    // The first waits in the buffer (the link may come back); the second found it full.
    assert.equal(await settled(toGone[0] as Promise<unknown>, 100), "still waiting");
    const refused = await settled(toGone[1] as Promise<unknown>, 2_000);
    assert.ok(refused instanceof LinkOverflowError, String(refused));
    s.toGone.reachable = true;
    await s.close();
  });
});
