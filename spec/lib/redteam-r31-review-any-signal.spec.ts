// Red team r31 review: anySignal (lib/abort-watch.ts), in the place of AbortSignal.any in the bridge
// server and link streams. What AbortSignal.any does it must do too (abort with the first source's reason,
// at once if one aborted already), and what it adds must hold: release is idempotent and leaves no
// listener on any source, whether it runs before or after an abort.
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { describe, it } from "node:test";
import { anySignal } from "../../lib/abort-watch.js";

const listening = (...signals: AbortSignal[]) => signals.map((signal) => getEventListeners(signal, "abort").length);

describe("red team r31 review: anySignal", () => {
  it("aborts with the reason of the source that aborts, once, and lets go of every source", () => {
    const [a, b] = [new AbortController(), new AbortController()];
    const { signal, release } = anySignal([a.signal, b.signal, b.signal]);
    let aborts = 0;
    signal.addEventListener("abort", () => aborts++);
    assert.deepEqual(listening(a.signal, b.signal), [1, 1]);
    const reason = new Error("b went");
    b.abort(reason);
    assert.equal(signal.reason, reason);
    a.abort(new Error("a went later"));
    assert.equal(signal.reason, reason);
    assert.equal(aborts, 1);
    assert.deepEqual(listening(a.signal, b.signal), [0, 0]);
    release();
    release();
  });

  it("is aborted at once, with the first aborted source's reason, when one aborted already; watches none", () => {
    const live = new AbortController();
    const reason = { why: "not an Error" };
    const { signal } = anySignal([live.signal, AbortSignal.abort(reason), AbortSignal.abort("second")]);
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, reason);
    assert.deepEqual(listening(live.signal), [0]);
    // AbortSignal.any agrees.
    assert.equal(AbortSignal.any([live.signal, AbortSignal.abort(reason)]).reason, reason);
  });

  it("released before any abort: no listener left, and a later abort leaves it unaborted", () => {
    const shared = new AbortController();
    const kept = anySignal([shared.signal]);
    const releases = Array.from({ length: 1_000 }, () => anySignal([shared.signal, new AbortController().signal]));
    for (const { release } of releases) {
      release();
      release();
    }
    assert.deepEqual(listening(shared.signal), [1]); // the one still watched
    kept.release();
    assert.deepEqual(listening(shared.signal), [0]);
    shared.abort();
    assert.equal(kept.signal.aborted, false);
    assert.ok(releases.every(({ signal }) => !signal.aborted));
  });

  it("with no source, never aborts (as AbortSignal.any([]))", () => {
    const { signal, release } = anySignal([]);
    assert.equal(signal.aborted, false);
    release();
  });
});
