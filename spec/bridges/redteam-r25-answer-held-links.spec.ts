// Red team r25 (in one process, MemoryLinks): answers held while the answering bus has no link open go to
// their own asker only, once a link to it opens: a far server with several peers restarts, and one peer
// reconnecting first does not get (and drop) the answers of the others. Across real processes see
// redteam-r25-answer-held.spec.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { linkTableOf } from "../../bridges/link-table.js";
import { Bus } from "../../lib/bus.js";
import { within } from "../../lib/request.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { settlesWithin, waitFor } from "../helpers/wait-for.js";

describe("red team r25: held answers go to their own asker", () => {
  it("the answering bus's links back all close; each asker gets its answer once its own link opens again", async () => {
    const [a, c, far] = [new Bus({ id: "r25l-a" }), new Bus({ id: "r25l-c" }), new Bus({ id: "r25l-far" })];
    for (const bus of [a, c, far]) bus.on("error", () => {});
    const release: (() => void)[] = [];
    far.follow("svc:wait", (m) => new Promise((resolve) => release.push(() => resolve(`for ${String(m.args[0])}`))));
    const [aOld, farToA] = MemoryLink.pair({ bus: a }, { bus: far });
    const [cOld, farToC] = MemoryLink.pair({ bus: c }, { bus: far });
    const fromA = a.ask("svc:wait", "a", within({ timeout: Number.POSITIVE_INFINITY }));
    const fromC = c.ask("svc:wait", "c", within({ timeout: Number.POSITIVE_INFINITY }));
    await waitFor(() => release.length === 2, "both requests at the far follower");
    // The far side's links back close (its server restarted); the askers' links stay, their far side gone.
    aOld.peer = undefined;
    cOld.peer = undefined;
    await farToA.close();
    await farToC.close();
    for (const answer of release) answer();
    await new Promise((resolve) => setImmediate(resolve)); // the answers went out (on no link)
    // c reconnects first: it gets its answer, and not a's (a bus drops an answer addressed to another).
    const [cNew, farToC2] = MemoryLink.pair({ bus: c }, { bus: far });
    assert.ok(await settlesWithin(fromC, 5_000), "c's answer came once its link opened");
    assert.equal(await fromC, "for c");
    assert.equal(linkTableOf(far).heldAnswers, 1);
    assert.equal(await settlesWithin(fromA, 100), false);
    const [aNew, farToA2] = MemoryLink.pair({ bus: a }, { bus: far });
    assert.equal(await fromA, "for a");
    assert.equal(linkTableOf(far).heldAnswers, 0);
    assert.equal(cNew.answersReceived, 1, "c's new link carried its answer only");
    assert.equal(aNew.answersReceived, 1, "a's new link carried its answer, once");
    assert.equal(linkTableOf(far).heldDropped, 0);
    for (const link of [aOld, cOld, aNew, cNew, farToA2, farToC2]) await link.close();
  });

  it("an answer a closing link could not deliver (its asker unreachable) goes by the asker's new link, or is held till one opens", async () => {
    const [a, far] = [new Bus({ id: "r25u-a" }), new Bus({ id: "r25u-far" })];
    for (const bus of [a, far]) bus.on("error", () => {});
    const release: (() => void)[] = [];
    far.follow("svc:wait", (m) => new Promise((resolve) => release.push(() => resolve(`for ${String(m.args[0])}`))));
    const [aOld, farOld] = MemoryLink.pair({ bus: a }, { bus: far, closeTimeout: 50 });
    const first = a.ask("svc:wait", 1, within({ timeout: Number.POSITIVE_INFINITY }));
    const second = a.ask("svc:wait", 2, within({ timeout: Number.POSITIVE_INFINITY }));
    await waitFor(() => release.length === 2, "both requests at the far follower");
    // The asker is out of reach (paused): the far side's answer waits in its link's buffer.
    farOld.reachable = false;
    aOld.peer = undefined;
    (release[0] as () => void)();
    await waitFor(() => farOld.backlog === 1, "the first answer buffered");
    // The far server closes that link (the asker's token expired): none is left, the answer is held.
    const report = await farOld.close();
    assert.equal(report.undelivered.length, 1);
    const [aNew, farNew] = MemoryLink.pair({ bus: a }, { bus: far, closeTimeout: 50 });
    assert.ok(await settlesWithin(first, 5_000), "the held answer came once a link to the asker opened");
    assert.equal(await first, "for 1");
    // Closing while the asker already reconnected: the undelivered answer goes by the new link at once.
    farNew.reachable = false;
    (release[1] as () => void)();
    await waitFor(() => farNew.backlog === 1, "the second answer buffered");
    const closed = farNew.close();
    const [aLast, farLast] = MemoryLink.pair({ bus: a }, { bus: far });
    assert.equal((await closed).undelivered.length, 1);
    assert.ok(await settlesWithin(second, 5_000), "the answer went by the link opened meanwhile");
    assert.equal(await second, "for 2");
    assert.equal(aNew.answersReceived + aLast.answersReceived, 2, "each answer once");
    for (const link of [aOld, aNew, aLast, farLast]) await link.close();
  });
});
