// Red team r32: the link a bridge server opens back to a berryMQ 0.3 peer (LegacyPeerLink) had no transport
// probe: after the peer died it stayed up until the bus sent it something. berryMQ 0.3 has no ping; the link
// now probes a quiet peer with `get_nowait(<its token>)` (0.3 answers "invalid token" for an interconnection's
// token, taking nothing and touching no ttl) every pingInterval: no answer makes it `down` at once, and it
// asks again with its retry backoff until the peer answers (`up`). The peer is the 0.3 stand-in
// (fixtures/legacy-node.ts) in a child process, killed with SIGKILL, then started again on its port.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { LegacyPeerLink, PeerLink, serve } from "../../../bridges/jsonrpc/index.js";
import { legacyHop } from "../../../bridges/jsonrpc/legacy-echo-filter.js";
import { linkTableOf } from "../../../bridges/link-table.js";
import { Bus } from "../../../lib/bus.js";
import type { BerryError } from "../../../lib/errors.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { type PeerProcess, startLegacyNode } from "./peer-process.js";

describe("red team r32: a quiet link back to a berryMQ 0.3 peer that is killed", () => {
  const closing: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const close of closing.reverse()) await close().catch(() => undefined);
  });

  it("goes down within a few pings of the kill -9, sending nothing, and up once a 0.3 node answers there again", async () => {
    const bus = new Bus({ id: "r32-legacy-probe" });
    const errors: BerryError[] = [];
    bus.on("error", (error) => void errors.push(error));
    const server = await serve({
      bus,
      peerLink: { pingInterval: 150, timeout: 1_000, retryDelay: { initial: 50, max: 300 }, closeTimeout: 0 },
    });
    let node: PeerProcess | undefined = await startLegacyNode({ peers: [server.url], ttl: 60 });
    let again: PeerProcess | undefined;
    closing.push(async () => {
      await node?.kill();
      await again?.kill();
      await server.close();
      bus.close();
    });
    const port = Number(new URL(node.url).port);
    const hop = legacyHop("127.0.0.1", port);
    await waitFor(() => linkTableOf(bus).routeTo(hop) !== undefined, "the server's link back to the 0.3 node");
    const link = linkTableOf(bus).routeTo(hop) as LegacyPeerLink;
    assert.ok(link instanceof LegacyPeerLink);
    const events: string[] = [];
    link.on("down", () => void events.push("down"));
    link.on("up", () => void events.push("up"));

    // Alive and quiet: probed several times, never down, and the probes delivered nothing there.
    bus.twitter("r32:hello", 1);
    await waitFor(() => (node as PeerProcess).messages("r32:hello").length === 1, "the first message at the 0.3 node");
    await sleep(1_000);
    assert.deepEqual(events, []);
    assert.equal(link.isDown, false);
    assert.equal(node.messages().length, 1, `the node got: ${JSON.stringify(node.messages())}`);
    const sent = link.stats.sent;

    await node.kill();
    node = undefined;
    const killedAt = performance.now();
    await waitFor(() => link.isDown, "the quiet link to go down after the kill", 8_000);
    const after = performance.now() - killedAt;
    assert.deepEqual(events, ["down"]);
    assert.ok(
      errors.some((error) => error.code === "LINK_DOWN"),
      "LinkDownError reported",
    );
    assert.equal(link.stats.sent, sent, "nothing sent to find out");
    assert.ok(after < 8_000, `down ${after.toFixed(0)} ms after the kill`);

    // A 0.3 node at the address again (it does not know the old token; the probe is answered all the same).
    again = await startLegacyNode({ port });
    await waitFor(() => !link.isDown, "the link to come up once a node answers there", 8_000);
    assert.deepEqual(events, ["down", "up"]);
    assert.equal(link.stats.sent, sent);
    assert.equal(again.messages().length, 0, "the probes deliver nothing");
  });

  it("a PeerLink that found a 0.3 server goes down within a few pings of its kill -9, and up once one answers again", async () => {
    const bus = new Bus({ id: "r32-legacy-client" });
    bus.on("error", () => {});
    const server = await serve({ bus });
    let node: PeerProcess | undefined = await startLegacyNode({});
    let again: PeerProcess | undefined;
    const link = await PeerLink.connect(node.url, {
      bus,
      server,
      pingInterval: 150,
      timeout: 1_000,
      retryDelay: { initial: 50, max: 300 },
      closeTimeout: 0,
    });
    closing.push(async () => {
      await node?.kill();
      await again?.kill();
      await link.close();
      await server.close();
      bus.close();
    });
    assert.ok(link.legacyHop !== undefined, "the link found a 0.3 server");
    const events: string[] = [];
    link.on("down", () => void events.push("down"));
    link.on("up", () => void events.push("up"));
    await sleep(800);
    assert.deepEqual(events, []);
    const port = Number(new URL(node.url).port);
    await node.kill();
    node = undefined;
    await waitFor(() => link.isDown, "the quiet PeerLink to go down after the kill", 8_000);
    assert.equal(link.stats.sent, 0, "nothing sent to find out");
    again = await startLegacyNode({ port });
    await waitFor(() => !link.isDown, "the link to come up once a node answers there", 8_000);
    assert.deepEqual(events, ["down", "up"]);
    assert.equal(again.messages().length, 0, "the probes deliver nothing");
  });

  it("a link with messages on their way is not probed: it learns from them (one down, no second report)", async () => {
    const bus = new Bus({ id: "r32-legacy-busy" });
    const errors: BerryError[] = [];
    bus.on("error", (error) => void errors.push(error));
    const server = await serve({
      bus,
      peerLink: { pingInterval: 100, timeout: 1_000, retryDelay: { initial: 50, max: 200 }, closeTimeout: 0 },
    });
    let node: PeerProcess | undefined = await startLegacyNode({ peers: [server.url], ttl: 60 });
    closing.push(async () => {
      await node?.kill();
      await server.close();
      bus.close();
    });
    const hop = legacyHop("127.0.0.1", Number(new URL(node.url).port));
    await waitFor(() => linkTableOf(bus).routeTo(hop) !== undefined, "the server's link back to the 0.3 node");
    const link = linkTableOf(bus).routeTo(hop) as LegacyPeerLink;
    const events: string[] = [];
    link.on("down", () => void events.push("down"));
    link.on("up", () => void events.push("up"));
    await node.kill();
    node = undefined;
    for (let i = 0; i < 5; i++) bus.twitter("r32:busy", i);
    await waitFor(() => link.isDown, "the link to go down", 8_000);
    await sleep(800);
    assert.deepEqual(events, ["down"]);
    assert.equal(errors.filter((error) => error.code === "LINK_DOWN").length, 1);
    assert.equal(link.backlog, 5, "the messages wait in the buffer");
  });
});
