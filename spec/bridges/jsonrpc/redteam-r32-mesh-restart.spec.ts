// Red team r32: a chain A — B — C of PeerLinks, B a child process killed with SIGKILL while it held messages
// from A for C (C paused: B's link to C could not get them through). B acknowledged them to A once its bus took
// them, so A counted them delivered, and they died with B: C never got them. Now A keeps what B acknowledged
// for `resendWindow` ms and, finding another process at B's address (a new `instance` in the handshake), sends
// it again first; the new B forwards it, and C drops by messageId what it had already (B's batch in flight was
// in C's socket). Each of the 3,000 messages (more than B sends C in one batch) reaches C exactly once.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { PeerLink, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { type PeerProcess, startPeer } from "./peer-process.js";

describe("red team r32: a chain whose middle process is killed with messages for the far end", () => {
  const closing: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const close of closing.reverse()) await close().catch(() => undefined);
  });

  it("A sends again what the dead B took: 3,000 messages reach C exactly once", async () => {
    const c = await startPeer({ busId: "r32-chain-c", follow: "chain:*" });
    const port = await freePort();
    let b: PeerProcess | undefined = await startPeer({ busId: "r32-chain-b", port, peers: [c.url], follow: "none:none" });
    let b2: PeerProcess | undefined;
    const bus = new Bus({ id: "r32-chain-a" });
    bus.on("error", () => {}); // the loss of B is reported (LinkLostError); what matters is checked below
    const server = await serve({ bus });
    // A window far longer than a loaded machine takes to start B again.
    const link = await PeerLink.connect(b.url, {
      bus,
      server,
      pingInterval: 100,
      retryDelay: { initial: 20, max: 200 },
      resendWindow: 60_000,
    });
    closing.push(async () => {
      c.resume();
      await link.close();
      await server.close();
      await b?.kill();
      await b2?.kill();
      await c.kill();
      bus.close();
    });
    await waitFor(() => link.streaming, "A's stream to B", 10_000);
    // B has its link to C (it printed ready after connecting).
    c.pause();
    const total = 3_000;
    for (let i = 0; i < total; i++) bus.twitter("chain:m", i);
    await waitFor(() => link.backlog === 0 && link.stats.sent === total, "B to acknowledge all 3,000", 10_000);
    await sleep(200);
    await b.kill();
    b = undefined;
    c.resume();
    b2 = await startPeer({ busId: "r32-chain-b", port, peers: [c.url], follow: "none:none" });
    const seen = (): number[] => c.messages("chain:m").map((event) => (event.args as number[])[0] as number);
    await waitFor(() => new Set(seen()).size === total, `all ${total} at C (has ${new Set(seen()).size})`, 20_000);
    await sleep(500);
    const counts = new Map<number, number>();
    for (const i of seen()) counts.set(i, (counts.get(i) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1);
    assert.deepEqual(twice, [], "none twice at C");
    assert.ok(link.resent > 0, "A sent the dead B's share again");
  });

  it("a far process linked to nothing else is sent nothing again: its new process gets only what was unacknowledged", async () => {
    const port = await freePort();
    let b: PeerProcess | undefined = await startPeer({ busId: "r32-pair-b", port, follow: "pair:*" });
    let b2: PeerProcess | undefined;
    const bus = new Bus({ id: "r32-pair-a" });
    bus.on("error", () => {});
    const server = await serve({ bus });
    const link = await PeerLink.connect(b.url, {
      bus,
      server,
      pingInterval: 100,
      retryDelay: { initial: 20, max: 200 },
      resendWindow: 60_000,
    });
    closing.push(async () => {
      await link.close();
      await server.close();
      await b?.kill();
      await b2?.kill();
      bus.close();
    });
    await waitFor(() => link.streaming, "A's stream to B", 10_000);
    for (let i = 0; i < 1_000; i++) bus.twitter("pair:m", i);
    await waitFor(
      () => link.backlog === 0 && (b as PeerProcess).messages("pair:m").length === 1_000,
      "B to take all 1,000",
      10_000,
    );
    await b.kill();
    b = undefined;
    b2 = await startPeer({ busId: "r32-pair-b", port, follow: "pair:*" });
    bus.twitter("pair:after", 1);
    await waitFor(() => (b2 as PeerProcess).messages("pair:after").length === 1, "the next message at the new B", 20_000);
    await sleep(300);
    assert.equal(b2.messages("pair:m").length, 0, "none of what the dead B took comes again");
    assert.equal(link.resent, 0);
  });
});
