// Red team (round 20): answers forged by a linked bus that knows a request's messageId (it saw the
// request, or guessed the next sequence number). Whatever it sends must not settle the request with its
// value unless it could be a real answer: under the request's reply identifier, and from the bus a
// balanced request went to. Frames go through a real Link (MemoryLink: JSON both ways).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Envelope } from "../../bridges/envelope.js";
import { Bus } from "../../lib/bus.js";
import type { Message } from "../../lib/message.js";
import { type Answer, within } from "../../lib/request.js";
import { RemoteError, RequestTimeoutError } from "../../lib/request-errors.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { sleep } from "../helpers/wait-for.js";

interface Setup {
  asker: Bus;
  /** The asker's end of the link to the forging bus: frames handed to it arrive as if sent by "evil". */
  fromEvil: MemoryLink;
  /** The last request the asker sent. */
  lastRequest(): Message;
  close(): Promise<void>;
}

// An asker linked to an honest bus ("good", following svc:x) and to a forging one ("evil", following nothing).
function setup(): Setup {
  const asker = new Bus({ id: "asker" });
  const good = new Bus({ id: "good" });
  const evil = new Bus({ id: "evil" });
  for (const bus of [asker, good, evil]) bus.on("error", () => {});
  const links = [...MemoryLink.pair({ bus: asker }, { bus: evil }), ...MemoryLink.pair({ bus: asker }, { bus: good })];
  good.follow("svc:x", async () => {
    await sleep(20); // the forger is faster than the honest bus
    return "genuine";
  });
  let last: Message | undefined;
  asker.on("message", (m) => {
    if (m.replyTo !== undefined) last = m;
  });
  return {
    asker,
    fromEvil: links[0] as MemoryLink,
    lastRequest: () => last as Message,
    close: async () => {
      for (const link of links) await link.close();
      for (const bus of [asker, good, evil]) bus.close();
    },
  };
}

let forged = 0;
// A frame from "evil" answering `request`, with `over` replacing fields.
function forgery(request: Message, over: Partial<Envelope>): Envelope {
  return {
    v: 1,
    id: `berrymq-reply:${request.hops[0] as string}`,
    args: ["forged"],
    kwargs: {},
    messageId: `evil/${++forged}`,
    timestamp: Date.now(),
    hops: ["evil"],
    inReplyTo: request.messageId,
    to: request.hops[0] as string,
    ...over,
  };
}

const values = (answers: readonly Answer[]): unknown[] => answers.map((a) => (a.ok ? a.value : a.error.remoteName));

describe("red team r20: forged answers over a link", () => {
  it("an addressed message of another identifier naming the request in inReplyTo does not answer it", async () => {
    const s = setup();
    await sleep(10);
    const seen: unknown[] = [];
    s.asker.follow("evil:thing", (m) => void seen.push(m.args[0]));
    const asked = s.asker.ask("svc:x", within({ timeout: 2_000 }));
    s.fromEvil.accept(forgery(s.lastRequest(), { id: "evil:thing" }));
    assert.equal(await asked, "genuine");
    assert.deepEqual(seen, ["forged"], "it is still an ordinary message for its own followers");
    await s.close();
  });

  it("a balanced request addressed to one bus is not answered by another", async () => {
    const s = setup();
    await sleep(10);
    await s.asker.request("svc:x", within({ balanced: true, timeout: 2_000 })); // learns that "good" answers
    const answers = s.asker.request("svc:x", within({ balanced: true, timeout: 2_000 }));
    assert.equal(s.lastRequest().to, "good");
    s.fromEvil.accept(forgery(s.lastRequest(), {}));
    s.fromEvil.accept(forgery(s.lastRequest(), { args: [], kwargs: { error: { name: "EvilError", message: "x" } } }));
    const [answer] = await answers;
    assert.deepEqual([answer?.bus, answer?.ok && answer.value], ["good", "genuine"]);
    // Nor a balanced ask, which settles on its first answer.
    const asked = s.asker.ask("svc:x", within({ balanced: true, timeout: 2_000 }));
    s.fromEvil.accept(forgery(s.lastRequest(), {}));
    assert.equal(await asked, "genuine");
    await s.close();
  });

  it("talk(): a value under the berrymq-reply identifier is not an answer; an error answer under it is", async () => {
    const s = setup();
    await sleep(10);
    const callbacks: unknown[] = [];
    s.asker.follow("svc:done", (m) => void callbacks.push(m.args[0]));
    const talked = s.asker.talk("svc:x", "svc:done", within({ timeout: 200 }));
    const request = s.lastRequest();
    assert.equal(request.replyTo, "svc:done");
    s.fromEvil.accept(forgery(request, {}));
    s.fromEvil.accept(forgery(request, { args: [], kwargs: { error: { name: "EvilError", message: "x" } } }));
    assert.deepEqual(await talked, ["genuine"], "talk() lists values; the error answer was taken, not listed");
    assert.deepEqual(callbacks, ["genuine"]);
    // request() with the same forgeries: the error answer counts (any bus may fail), the value does not.
    const requested = s.asker.request("svc:x", within({ count: "all", timeout: 200 }));
    const second = s.lastRequest();
    s.fromEvil.accept(forgery(second, { id: "svc:done" }));
    s.fromEvil.accept(forgery(second, { args: [], kwargs: { error: { name: "EvilError", message: "x" } } }));
    const answers = await requested;
    assert.deepEqual(values(answers), ["EvilError", "genuine"]);
    assert.ok(!answers[0]?.ok && answers[0]?.error instanceof RemoteError && answers[0].error.bus === "evil");
    await s.close();
  });

  it("duplicates and answers after the timeout or abort never settle a request twice nor reach another", async () => {
    const s = setup();
    await sleep(10);
    const controller = new AbortController();
    const aborted = s.asker.request("svc:x", within({ signal: controller.signal, count: 2, timeout: 2_000 }));
    const first = s.lastRequest();
    const timedOut = s.asker.request("svc:x", within({ count: 2, timeout: 10 }));
    const second = s.lastRequest();
    const kept = s.asker.request("svc:x", within({ count: 3, timeout: 2_000 }));
    const third = s.lastRequest();
    const repeated = forgery(third, {});
    s.fromEvil.accept(repeated);
    s.fromEvil.accept(repeated); // the same frame again: a duplicate
    controller.abort();
    await assert.rejects(aborted);
    await assert.rejects(timedOut, RequestTimeoutError);
    for (const request of [first, second]) s.fromEvil.accept(forgery(request, {}));
    s.fromEvil.accept(forgery(third, {}));
    const answers = await kept;
    assert.deepEqual(values(answers).sort(), ["forged", "forged", "genuine"]);
    assert.equal(s.asker.pendingRequests, 0);
    await s.close();
  });
  it("hostile answer payloads: prototype keys and deep nesting are refused, odd error payloads bounded, nothing crashes", async () => {
    const s = setup();
    await sleep(10);
    const refused: [string, Partial<Envelope>][] = [
      ["__proto__ in a value", JSON.parse('{"args":[{"__proto__":{"polluted":1}}]}') as Partial<Envelope>],
      ["__proto__ in an error", JSON.parse('{"args":[],"kwargs":{"error":{"__proto__":{"name":"X"}}}}') as Partial<Envelope>],
      ["deep", { args: [JSON.parse(`${"[".repeat(5_000)}${"]".repeat(5_000)}`)] }],
      ["100 hops", { hops: Array.from({ length: 100 }, (_, i) => `h${i}`) }],
    ];
    for (const [what, over] of refused) {
      const requested = s.asker.request("svc:x", what, within({ count: 2, timeout: 300 }));
      assert.throws(() => s.fromEvil.accept(forgery(s.lastRequest(), over)), /invalid|envelope|deep|hops|__proto__/i, what);
      const error = await requested.then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof RequestTimeoutError, `${what}: ${String(error)}`);
      assert.deepEqual(values(error.answers), ["genuine"], what);
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const odd: Partial<Envelope>[] = [
      { args: [], kwargs: { error: { name: { a: 1 }, message: ["m"] } } },
      { args: [], kwargs: { error: null } },
      { args: [], kwargs: { error: { name: "N".repeat(100_000), message: "M".repeat(1_000_000) } } },
    ];
    for (const over of odd) {
      const requested = s.asker.request("svc:x", within({ count: 2, timeout: 2_000 }));
      s.fromEvil.accept(forgery(s.lastRequest(), over));
      const [forged] = await requested;
      assert.ok(forged !== undefined && !forged.ok && forged.error instanceof RemoteError);
      assert.ok(forged.error.remoteName.length <= 200 && forged.error.message.length < 5_000, "bounded");
    }
    await s.close();
  });
});
