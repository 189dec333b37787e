// Red team (round 20): a link closed with requests waiting. A request that went out on closed links only,
// with no follower here to answer it, can get no further answer: it must end at once with a typed error,
// not wait for its timeout (forever with `timeout: Infinity`). One that may still be answered must wait.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus } from "../../lib/bus.js";
import { within } from "../../lib/request.js";
import { RequestLinkClosedError, RequestTimeoutError } from "../../lib/index.js"; // the public entry exports it
import { MemoryLink } from "../helpers/memory-link.js";
import { settlesWithin, sleep } from "../helpers/wait-for.js";

// `answerer` answers `svc:now` at once and holds `svc:hold` until the spec lets it go.
function serving(answerer: Bus): Map<unknown, (value: unknown) => void> {
  const held = new Map<unknown, (value: unknown) => void>();
  answerer.follow("svc:now", (m) => `now ${String(m.args[0])}`);
  answerer.follow("svc:hold", (m) => new Promise((resolve) => held.set(m.args[0], resolve)));
  return held;
}

const outcome = (promise: Promise<unknown>): Promise<unknown> => promise.then((value) => value, (error: unknown) => error);

describe("red team r20: a link closed with requests waiting", () => {
  it("asks and requests with no timeout end at once with RequestLinkClosedError carrying their answers", async () => {
    const asker = new Bus({ id: "lc-asker" });
    const answerer = new Bus({ id: "lc-answerer" });
    serving(answerer);
    answerer.follow("svc:hold", () => "one of two");
    answerer.follow("svc:never", () => new Promise(() => {}));
    const [link, back] = MemoryLink.pair({ bus: asker }, { bus: answerer });
    await sleep(10);
    const forever = within({ timeout: Number.POSITIVE_INFINITY });
    const asked = outcome(asker.ask("svc:never", 1, forever));
    const requested = outcome(asker.request("svc:hold", 2, within({ count: 2, timeout: Number.POSITIVE_INFINITY })));
    await sleep(20); // "one of two" is in
    await link.close();
    assert.ok(await settlesWithin(Promise.all([asked, requested]), 2_000), "they ended when the link closed");
    const [ask, request] = [await asked, await requested];
    assert.ok(ask instanceof RequestLinkClosedError, String(ask));
    assert.equal(ask.code, "REQUEST_LINK_CLOSED");
    assert.ok(request instanceof RequestLinkClosedError, String(request));
    assert.deepEqual(request.answers.map((a) => a.ok && a.value), ["one of two"]);
    assert.equal(asker.pendingRequests, 0);
    await back.close();
  });

  it('count "all" resolves with the answers it has', async () => {
    const asker = new Bus({ id: "lc-all-asker" });
    const answerer = new Bus({ id: "lc-all-answerer" });
    serving(answerer);
    const [link, back] = MemoryLink.pair({ bus: asker }, { bus: answerer });
    await sleep(10);
    const all = asker.request("svc:now", 1, within({ count: "all", timeout: 60_000 }));
    await sleep(20);
    await link.close();
    assert.ok(await settlesWithin(all, 2_000));
    assert.deepEqual((await all).map((a) => a.ok && a.value), ["now 1"]);
    await back.close();
  });

  it("waits while another link that carried it is open; a link started after it does not keep it", async () => {
    const asker = new Bus({ id: "lc-two-asker" });
    const [first, second, third] = ["lc-two-a", "lc-two-b", "lc-two-c"].map((id) => new Bus({ id })) as [Bus, Bus, Bus];
    for (const bus of [first, second, third]) serving(bus);
    const [toFirst, fromFirst] = MemoryLink.pair({ bus: asker }, { bus: first });
    const [toSecond, fromSecond] = MemoryLink.pair({ bus: asker }, { bus: second });
    await sleep(10);
    const pending = outcome(asker.request("svc:hold", "x", within({ count: 3, timeout: Number.POSITIVE_INFINITY })));
    await sleep(10);
    const [toThird, fromThird] = MemoryLink.pair({ bus: asker }, { bus: third }); // after the request
    await toFirst.close();
    assert.equal(await settlesWithin(pending, 100), false, "the second link carried it: an answer may still come");
    assert.equal(asker.pendingRequests, 1);
    await toSecond.close();
    const error = await pending;
    assert.ok(error instanceof RequestLinkClosedError, String(error));
    // The third link, open throughout, still serves new requests.
    assert.equal(await asker.ask("svc:now", 3, within({ timeout: 2_000 })), "now 3");
    for (const link of [fromFirst, fromSecond, toThird, fromThird]) await link.close();
  });

  it("waits while a follower here may still answer; a balanced request addressed elsewhere does not", async () => {
    const asker = new Bus({ id: "lc-local-asker" });
    const answerer = new Bus({ id: "lc-local-answerer" });
    const remote = serving(answerer);
    const local = serving(asker);
    const [link, back] = MemoryLink.pair({ bus: asker }, { bus: answerer });
    await sleep(10);
    const discovery = asker.request("svc:hold", "d", within({ balanced: true, count: "all", timeout: 200 }));
    await sleep(20);
    local.get("d")?.("here");
    remote.get("d")?.("there");
    assert.equal((await discovery).length, 2, "both buses answer svc:hold");
    const both = outcome(asker.request("svc:hold", "both", within({ count: 2, timeout: 300 })));
    let addressed: Promise<unknown> | undefined;
    for (let i = 0; i < 2; i++) {
      const balanced = asker.request("svc:hold", `b${i}`, within({ balanced: true, timeout: Number.POSITIVE_INFINITY }));
      if (local.has(`b${i}`)) local.get(`b${i}`)?.("here");
      else addressed = outcome(balanced);
    }
    assert.ok(addressed !== undefined, "one of the two balanced calls went to the other bus");
    await sleep(10);
    await link.close();
    assert.ok((await addressed) instanceof RequestLinkClosedError);
    assert.equal(await settlesWithin(both, 100), false, "a follower here may still answer it");
    local.get("both")?.("late");
    const error = await both;
    assert.ok(error instanceof RequestTimeoutError, String(error));
    assert.deepEqual(error.answers.map((a) => a.ok && a.value), ["late"]);
    asker.close();
    await back.close();
  });

  it("a balanced call ended by its addressee's link closing forgets that bus: the retry goes to another answerer at once", async () => {
    const asker = new Bus({ id: "lc-retry-asker" });
    const gone = new Bus({ id: "lc-retry-gone" });
    const other = new Bus({ id: "lc-retry-other" });
    // `gone` answers the discovery call, then never again (as a process that hangs before it goes).
    let calls = 0;
    gone.follow("svc:who", () => (++calls === 1 ? "gone" : new Promise(() => {})));
    other.follow("svc:who", () => "other");
    const [toGone, goneBack] = MemoryLink.pair({ bus: asker }, { bus: gone });
    await sleep(10);
    // Discovery while only `gone` is linked: it is the one known answerer.
    const balanced = within({ balanced: true, timeout: 1_000 });
    assert.deepEqual(await asker.ask("svc:who", balanced), "gone");
    const addressed = outcome(asker.ask("svc:who", balanced));
    await sleep(20);
    await toGone.close();
    await goneBack.close();
    assert.ok((await addressed) instanceof RequestLinkClosedError, String(await addressed));
    const [toOther, otherBack] = MemoryLink.pair({ bus: asker }, { bus: other });
    await sleep(10);
    const started = performance.now();
    const retried = await outcome(asker.ask("svc:who", balanced));
    assert.equal(retried, "other", `the retry: ${String(retried)}`);
    assert.ok(performance.now() - started < 500, "the retry did not wait out a timeout on the forgotten bus");
    await toOther.close();
    await otherBack.close();
  });

  it("closing the link of a process with nothing waiting changes nothing; a request opened after is not touched", async () => {
    const asker = new Bus({ id: "lc-after-asker" });
    const answerer = new Bus({ id: "lc-after-answerer" });
    serving(answerer);
    const [link, back] = MemoryLink.pair({ bus: asker }, { bus: answerer });
    await sleep(10);
    assert.equal(await asker.ask("svc:now", 1, within({ timeout: 2_000 })), "now 1");
    await link.close();
    await back.close();
    // With no link left, a request waits for its timeout as before (a link may still be made).
    await assert.rejects(asker.ask("svc:now", 2, within({ timeout: 30 })), /got 0 of 1 answers/);
  });
});
