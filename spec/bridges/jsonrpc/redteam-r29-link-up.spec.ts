// Red team r29: a PeerLink to a child process whose bridge server closes for a while (it then serves again on
// its port over the same bus). The asks sent meanwhile wait in the link, which is down; they all time out, and
// the link takes them out unsent (r28). Before r29 it then stopped trying: once the far server served again
// the link stayed `isDown`, with no `up`, until the bus sent something else. Now it probes its far side
// while down with nothing to send, and tells `up` once the far server answers: nothing else is sent.
// The child is spec/bridges/fixtures/request-peer.ts ("jsonrpc-server", downMs).
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { PeerLink, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { within } from "../../../lib/request.js";
import { RequestTimeoutError } from "../../../lib/request-errors.js";
import { waitFor } from "../../helpers/wait-for.js";
import { type StartedRequestPeer, startRequestPeer } from "../request-process.js";

describe("red team r29: a PeerLink down whose buffer held only requests that ended", () => {
  const closing: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const close of closing.reverse()) await close();
  });

  it("tells `up` once the far server serves again, without a send", async () => {
    const bus = new Bus({ id: "r29-asker" });
    bus.on("error", () => {}); // the outage is reported; what matters is checked below
    const server = await serve({ bus });
    const child: StartedRequestPeer = await startRequestPeer({ busId: "r29-child", transport: "jsonrpc-server", downMs: 1_500 });
    const link = await PeerLink.connect(child.url as string, {
      bus,
      server,
      pingInterval: 100,
      retryDelay: { initial: 20, max: 200 },
    });
    closing.push(async () => {
      await child.kill();
      await link.close();
      await server.close();
      bus.close();
    });
    const events: string[] = [];
    link.on("down", () => void events.push("down"));
    link.on("up", () => void events.push("up"));
    const runs = (): Promise<{ counted: number }> => bus.ask<{ counted: number }>("rq:runs", within({ timeout: 5_000 }));
    const before = await runs();
    await waitFor(() => link.backlog === 0, "the answered ask's batch through");
    const sent = link.stats.sent;

    child.signal("SIGUSR2"); // its server closes for 1.5 s
    await waitFor(() => child.events.includes("closed"), "the child's server to close", 10_000);
    const asks = Array.from({ length: 10 }, (_, i) =>
      bus.ask("rq:counted", i, within({ timeout: 400 })).then(
        () => "answered",
        (error: unknown) => error,
      ),
    );
    for (const error of await Promise.all(asks)) assert.ok(error instanceof RequestTimeoutError, String(error));
    assert.equal(child.events.includes("served"), false, "asked and ended within the outage");
    assert.equal(link.isDown, true, "the far server refused the asks");
    assert.deepEqual(events, ["down"]);

    await waitFor(() => child.events.includes("served"), "the child's server to serve again", 10_000);
    await waitFor(() => !link.isDown, "the link up again, with nothing sent", 10_000);
    assert.deepEqual(events, ["down", "up"]);
    assert.equal(link.stats.ended, 10, "the asks that ended, taken out unsent");
    assert.equal(link.stats.sent, sent, "nothing sent to bring it up");
    assert.equal((await runs()).counted, before.counted, "no ask that ended reached the child's follower");
  });
});
