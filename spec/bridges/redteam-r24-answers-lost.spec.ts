// Red team r24: a request whose only answerer is across a PeerLink this bus opened, and the far process is
// killed -9. The link buffers and retries for ever (it reconnects to whatever answers there later), so a
// request with `timeout: Infinity` never ended, even once the far process came back without it. Now a far
// side gone for good (another bus answers the handshake: its instance id changed; or connections refused
// for longer than ttl + pingInterval — a paused or busy process still accepts TCP, so silence alone is no
// loss since the r24 review) ends the requests that went out on that link only, with no
// follower here: RequestLinkClosedError caused by a LinkLostError, carrying the answers that came;
// `count: "all"` resolves with them. A request still in the link's buffer (never taken by the far side)
// waits: it goes to whatever far side the link reaches next. The child is spec/bridges/fixtures/request-peer.ts.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { type BridgeServer, PeerLink, serve } from "../../bridges/jsonrpc/index.js";
import { Bus } from "../../lib/bus.js";
import { LinkLostError } from "../../lib/errors.js";
import type { Answer } from "../../lib/request.js";
import { within } from "../../lib/request.js";
import { RequestLinkClosedError } from "../../lib/request-errors.js";
import { freePort } from "../helpers/free-port.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { settlesWithin, sleep, waitFor } from "../helpers/wait-for.js";
import { closeLinked, untilLinked } from "./linked-child.js";
import { type RequestPeer, startRequestPeer } from "./request-process.js";

const outcome = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    (value) => value,
    (error: unknown) => error,
  );
const retryDelay = { initial: 20, max: 200 };
const values = (answers: readonly Answer[]): unknown[] => answers.map((a) => (a.ok ? [a.value, a.bus] : a.error.message));

interface Asker {
  bus: Bus;
  server: BridgeServer;
  reported: unknown[];
}

async function asker(id: string): Promise<Asker> {
  const bus = new Bus({ id });
  const reported: unknown[] = [];
  bus.on("error", (error) => void reported.push(error));
  return { bus, server: await serve({ bus }), reported };
}

// The four tests run at once: each has its own asker bus (its own id, bridge server and links), its own
// child process (its own bus id and port) and counts only what its own bus reports.
describe("red team r24: requests across a PeerLink whose far process is killed -9", { concurrency: true }, () => {
  const closing: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const close of closing.reverse()) await close();
  });

  it("not restarted: past the link's ttl, the requests it carried end with their answers; one still buffered waits", async () => {
    const { bus, server, reported } = await asker("r24l-asker");
    const busId = "r24l-child";
    let child: RequestPeer = await startRequestPeer({ busId, transport: "jsonrpc-server" });
    const link = await PeerLink.connect(child.url as string, { bus, server, ttl: 1, pingInterval: 100, retryDelay });
    closing.push(closeLinked(() => child, link, server, bus));
    const pid = await untilLinked(bus, busId);
    const waiting = outcome(bus.request<string>("r23:some", within({ count: 2, timeout: Number.POSITIVE_INFINITY })));
    const all = bus.request<string>("r23:some", within({ count: "all", timeout: 600_000 }));
    // Both first answers are in once a later ask of the same follower is answered (one link, in order).
    assert.equal(await bus.ask<string>("r23:some", within({ timeout: 5_000 })), `quick from ${pid}`);
    await child.kill();
    // Opened once the far side is gone: the far side never takes it, it stays in the link's buffer.
    const buffered = outcome(bus.request("r23:add", 1, 2, within({ timeout: Number.POSITIVE_INFINITY })));
    await waitFor(() => link.isDown, "the link to notice the far side is down", 10_000);
    assert.ok(await settlesWithin(waiting, 20_000), "the request ended");
    const ended = await waiting;
    assert.ok(ended instanceof RequestLinkClosedError, String(ended));
    assert.ok(ended.cause instanceof LinkLostError, String(ended.cause));
    assert.equal(ended.cause.farBus, busId);
    assert.deepEqual(values(ended.answers), [[`quick from ${pid}`, busId]]);
    assert.deepEqual(values(await all), [[`quick from ${pid}`, busId]], 'count "all" resolves with what came');
    assert.equal(reported.filter((e) => e instanceof LinkLostError).length, 1, "the loss is reported once");
    assert.equal(await settlesWithin(buffered, 300), false, "the buffered request still waits");
    assert.equal(bus.pendingRequests, 1);
    // It goes to the process that listens there next... none: closing the link ends it.
    child = { pid: 0, url: undefined, kill: async () => {}, stop: async () => {} };
    await link.close();
    assert.ok((await buffered) instanceof RequestLinkClosedError);
    assert.equal(bus.pendingRequests, 0);
  });

  it("restarted on its port: the new process does not know the link, the old requests end, the new one answers", async () => {
    const { bus, server, reported } = await asker("r24r-asker");
    const busId = "r24r-child";
    const port = await freePort();
    let child: RequestPeer = await startRequestPeer({ busId, transport: "jsonrpc-server", port });
    // The default ttl (300 s): the restart, not silence, tells the loss.
    const link = await PeerLink.connect(child.url as string, { bus, server, pingInterval: 100, retryDelay });
    closing.push(closeLinked(() => child, link, server, bus));
    const firstPid = await untilLinked(bus, busId);
    const waiting = outcome(bus.request<string>("r23:some", within({ count: 2, timeout: Number.POSITIVE_INFINITY })));
    assert.equal(await bus.ask<string>("r23:some", within({ timeout: 5_000 })), `quick from ${firstPid}`);
    await child.kill();
    child = await startRequestPeer({ busId, transport: "jsonrpc-server", port });
    assert.ok(await settlesWithin(waiting, 20_000), "the request ended");
    const ended = await waiting;
    assert.ok(ended instanceof RequestLinkClosedError, String(ended));
    assert.ok(ended.cause instanceof LinkLostError, String(ended.cause));
    assert.deepEqual(values(ended.answers), [[`quick from ${firstPid}`, busId]]);
    const newPid = await untilLinked(bus, busId);
    assert.equal(newPid, child.pid);
    assert.equal(await bus.ask("r23:add", 2, 3, within({ timeout: 5_000 })), 5);
    assert.equal(reported.filter((e) => e instanceof LinkLostError).length, 1);
    assert.equal(bus.pendingRequests, 0);
  });

  it("another link open since before the request carried it too: the loss does not end it", async () => {
    const { bus, server } = await asker("r24o-asker");
    const other = new Bus({ id: "r24o-other" });
    const busId = "r24o-child";
    const child: RequestPeer = await startRequestPeer({ busId, transport: "jsonrpc-server" });
    const link = await PeerLink.connect(child.url as string, { bus, server, ttl: 1, pingInterval: 100, retryDelay });
    const memory = MemoryLink.pair({ bus }, { bus: other });
    closing.push(async () => {
      await child.kill();
      for (const m of memory) await m.close();
      await link.close();
      await server.close();
      bus.close();
    });
    await untilLinked(bus, busId);
    const waiting = outcome(bus.request("r23:some", within({ count: 2, timeout: Number.POSITIVE_INFINITY })));
    await sleep(100);
    const lost = new Promise<void>((resolve) => link.on("error", (e) => e instanceof LinkLostError && resolve()));
    await child.kill();
    // Past the ttl (1 s) and a ping: the loss is told; the request waits for an answer by the other link.
    assert.ok(await settlesWithin(lost, 20_000), "the loss was told");
    assert.equal(await settlesWithin(waiting, 300), false, "another link carried it: an answer may still come");
    // The lost link is not counted as carrying it any more: the other one closing ends it.
    for (const m of memory) await m.close();
    assert.ok(await settlesWithin(waiting, 5_000), "it ended when the other link closed");
    const ended = await waiting;
    assert.ok(ended instanceof RequestLinkClosedError, String(ended));
    assert.equal(ended.cause, undefined, "ended by the close");
    assert.equal(bus.pendingRequests, 0);
  });

  it("the far process opened the link (this bus's end is its link back): its ttl expiring closes that end, the request ends", async () => {
    // Already so before r24 (the server closes a link back whose peer's token expired): kept as the
    // counterpart of the link this bus opens.
    const { bus, server } = await asker("r24b-asker");
    const busId = "r24b-child";
    const child: RequestPeer = await startRequestPeer({ busId, transport: "jsonrpc", url: server.url, ttl: 1 });
    closing.push(async () => {
      await child.kill();
      await server.close();
      bus.close();
    });
    const pid = await untilLinked(bus, busId);
    const waiting = outcome(bus.request<string>("r23:some", within({ count: 2, timeout: Number.POSITIVE_INFINITY })));
    assert.equal(await bus.ask<string>("r23:some", within({ timeout: 5_000 })), `quick from ${pid}`);
    await child.kill();
    assert.ok(await settlesWithin(waiting, 20_000), "the request ended");
    const ended = await waiting;
    assert.ok(ended instanceof RequestLinkClosedError, String(ended));
    assert.deepEqual(values(ended.answers), [[`quick from ${pid}`, busId]]);
    assert.equal(bus.pendingRequests, 0);
  });
});
