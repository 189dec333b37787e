// Edge values of a request's options that must not send anything or hold anything.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus } from "../../lib/bus.js";
import { MAX_ANSWERS_PER_REQUEST, within } from "../../lib/request.js";
import { RequestAbortedError } from "../../lib/request-errors.js";
import { sleep } from "../helpers/wait-for.js";

describe("request edges", () => {
  it("a request whose signal is already aborted is never sent", async () => {
    const bus = new Bus();
    let called = 0;
    let sent = 0;
    bus.follow("edge:x", () => ++called);
    bus.on("message", () => void sent++);
    await assert.rejects(bus.request("edge:x", within({ signal: AbortSignal.abort() })), RequestAbortedError);
    await assert.rejects(bus.ask("edge:x", within({ signal: AbortSignal.abort() })), RequestAbortedError);
    await sleep(10);
    assert.equal(called, 0, "no follower ran for an aborted request");
    assert.equal(sent, 0, "links never saw it");
    assert.equal(bus.pendingRequests, 0);
    bus.close();
  });

  it(`refuses a count above ${MAX_ANSWERS_PER_REQUEST}, naming it`, async () => {
    const bus = new Bus();
    await assert.rejects(bus.request("edge:x", within({ count: MAX_ANSWERS_PER_REQUEST + 1 })), /invalid count 10001/);
    bus.close();
  });
});
