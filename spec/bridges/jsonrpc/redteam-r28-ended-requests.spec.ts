// Red team r28: a PeerLink to a child process whose bridge server is closed for a while (it then serves
// again on its port over the same bus). The asks of the outage timed out (or were aborted) in the asking
// bus, yet once the far server was back the link sent every one of them: the child's follower ran for
// answers that went nowhere, ahead of the fresh asks. Now the link drops a request of its bus that ended
// (counted in stats.ended), and still sends a talk() with a callback identifier, whose answers go on to that
// identifier's followers. The child is spec/bridges/fixtures/request-peer.ts ("jsonrpc-server", downMs).
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { PeerLink, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { within } from "../../../lib/request.js";
import { RequestAbortedError, RequestTimeoutError } from "../../../lib/request-errors.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { type StartedRequestPeer, startRequestPeer } from "../request-process.js";

interface Runs {
  counted: number;
  talked: number;
}

const outcome = (promise: Promise<unknown>): Promise<unknown> => promise.then(() => "answered", (error: unknown) => error);

describe("red team r28: requests that ended while a PeerLink's far server was down", () => {
  const closing: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const close of closing.reverse()) await close();
  });

  it("are not sent once it serves again; a talk() is, and a fresh ask is answered at once", async () => {
    const bus = new Bus({ id: "r28-asker" });
    bus.on("error", () => {}); // the outage is reported; what matters is checked below
    const server = await serve({ bus });
    const child: StartedRequestPeer = await startRequestPeer({ busId: "r28-child", transport: "jsonrpc-server", downMs: 2_500 });
    const link = await PeerLink.connect(child.url as string, { bus, server, pingInterval: 100, retryDelay: { initial: 20, max: 200 } });
    closing.push(async () => {
      await child.kill();
      await link.close();
      await server.close();
      bus.close();
    });
    const runs = (): Promise<Runs> => bus.ask<Runs>("rq:runs", within({ timeout: 5_000 }));
    const before = await runs();
    const callbacks: unknown[] = [];
    bus.follow("rq:talked", (m) => void callbacks.push(m.args[0]));

    child.signal("SIGUSR2"); // its server closes for 2.5 s
    await waitFor(() => child.events.includes("closed"), "the child's server to close", 10_000);
    const deadline = Date.now() + 10_000;
    while (!link.isDown) {
      assert.ok(Date.now() < deadline, "the link noticed the outage");
      bus.twitter("rq:probe");
      await sleep(50);
    }
    const asks = Array.from({ length: 100 }, (_, i) => outcome(bus.ask("rq:counted", i, within({ timeout: 300 }))));
    const controller = new AbortController();
    const aborted = outcome(bus.ask("rq:counted", "aborted", within({ timeout: 60_000, signal: controller.signal })));
    const talked = bus.talk("rq:talk", "rq:talked", "during", within({ timeout: 300 }));
    await sleep(20);
    controller.abort();
    for (const error of await Promise.all(asks)) assert.ok(error instanceof RequestTimeoutError, String(error));
    assert.ok((await aborted) instanceof RequestAbortedError);
    assert.deepEqual(await talked, [], "no answer while the far server is down");
    assert.equal(bus.pendingRequests, 0);
    assert.equal(child.events.includes("served"), false, "asked and ended within the outage");

    await waitFor(() => child.events.includes("served"), "the child's server to serve again", 10_000);
    const started = performance.now();
    const after = await runs();
    assert.ok(performance.now() - started < 3_000, `a fresh ask answered in ${Math.round(performance.now() - started)} ms`);
    assert.equal(after.counted - before.counted, 0, "no ask that ended reached the child's follower");
    assert.equal(link.stats.ended, 101, "the 100 timed out and the aborted one, counted");
    await waitFor(() => callbacks.length === 1, "the talk()'s answer on rq:talked", 10_000);
    assert.deepEqual(callbacks, ["talked during"]);
    assert.equal(after.talked - before.talked, 1, "the talk() ran once in the child");
  });
});
