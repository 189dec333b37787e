// Red team r32 (request/response): balanced calls across two child processes over PeerLinks, one of them
// killed -9 with a call addressed to it in flight. That call went out on the link to it only; once the link
// tells its far side is lost for good (refusals past ttl + pingInterval: LinkLostError), the call ends with
// RequestLinkClosedError caused by the loss, rather than at its timeout (never, with `timeout: Infinity`):
// the link to the other process, open since before, never carried it. The retry goes to the other process;
// the call addressed to it is untouched. The children are spec/bridges/fixtures/request-peer.ts.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { PeerLink, serve } from "../../bridges/jsonrpc/index.js";
import { Bus } from "../../lib/bus.js";
import { LinkLostError } from "../../lib/errors.js";
import type { Message } from "../../lib/message.js";
import { within } from "../../lib/request.js";
import { RequestLinkClosedError } from "../../lib/request-errors.js";
import { untilLinked } from "./linked-child.js";
import { type RequestPeer, startRequestPeer } from "./request-process.js";
import { outcome, settled } from "../helpers/settled-within.js";

describe("red team r32: a balanced call to a process killed -9, another answerer linked", () => {
  const closing: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const close of closing.reverse()) await close();
  });

  it("ends with RequestLinkClosedError caused by LinkLostError, not its timeout; the retry goes to the live process", {
    timeout: 30_000,
  }, async () => {
    const bus = new Bus({ id: "r32-bk-asker" });
    bus.on("error", () => {});
    const server = await serve({ bus });
    closing.push(async () => {
      await server.close();
      bus.close();
    });
    const ids = ["r32-bk-doomed", "r32-bk-alive"] as const;
    const children: RequestPeer[] = [];
    const links: PeerLink[] = [];
    for (const busId of ids) {
      const child = await startRequestPeer({ busId, transport: "jsonrpc-server" });
      children.push(child);
      closing.push(() => child.kill());
      const link = await PeerLink.connect(child.url as string, {
        bus,
        server,
        ttl: 1,
        pingInterval: 100,
        retryDelay: { initial: 20, max: 200 },
      });
      link.on("error", () => {});
      links.push(link);
      closing.push(() => link.close());
      await untilLinked(bus, busId);
    }
    const discovered = await bus.request("r24:late", 0, within({ balanced: true, count: 2, timeout: 5_000 }));
    assert.deepEqual(discovered.map((a) => a.bus).sort(), [...ids].sort());
    let lastTo: string | undefined;
    bus.on("message", (m: Message) => {
      if (m.replyTo !== undefined && m.name === "r24") lastTo = m.to;
    });
    // Two calls that take a minute: round-robin sends one to each process.
    const stop = new AbortController();
    const calls = new Map<string, Promise<unknown>>();
    for (let i = 0; i < 2; i++) {
      const call = outcome(
        bus.ask("r24:late", 60_000, within({ balanced: true, timeout: Number.POSITIVE_INFINITY, signal: stop.signal })),
      );
      calls.set(lastTo as string, call);
    }
    assert.deepEqual([...calls.keys()].sort(), [...ids].sort());
    // Both calls reached their process once a later request over the same links is answered by both (each
    // link sends in order): killed before, the call would still be in its link's buffer, and wait for
    // whatever far side the link reaches next.
    assert.equal((await bus.request("r23:whoami", within({ count: 2, timeout: 5_000 }))).length, 2);
    await (children[0] as RequestPeer).kill();
    const ended = await settled(calls.get("r32-bk-doomed") as Promise<unknown>, 15_000);
    assert.ok(ended instanceof RequestLinkClosedError, String(ended));
    assert.ok(ended.cause instanceof LinkLostError, String(ended.cause));
    assert.equal(ended.cause.farBus, "r32-bk-doomed");
    assert.equal(
      await settled(calls.get("r32-bk-alive") as Promise<unknown>, 50),
      "still waiting",
      "the live process's call goes on",
    );
    const retried = await settled(bus.ask("r24:late", 0, within({ balanced: true, timeout: 5_000 })), 5_000);
    assert.equal(retried, `late from ${(children[1] as RequestPeer).pid}`);
    stop.abort();
    await calls.get("r32-bk-alive");
    assert.equal(bus.pendingRequests, 0);
  });
});
