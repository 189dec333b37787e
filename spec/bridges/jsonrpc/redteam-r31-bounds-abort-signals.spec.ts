// Red team r31 (bounds): every request a bridge server answered grew it for good. Each POST's signal was
// AbortSignal.any([its hang-up, the server's closing signal]), and on Node 20 AbortSignal.any keeps a
// WeakRef to the signal it makes in each source's set of dependants, never taken out: the server's one
// closing signal gained an entry per request (and per upgraded link stream), whoever sent it — 2M
// `berrymq.hello` from anybody who can reach the port held over 100 MB. A request's signal now stops watching
// the closing signal when the request ends (anySignal in lib/abort-watch.ts).
import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import { Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { type BridgeServer, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { heapUsed } from "../../helpers/heap.js";
import { specStream } from "../../helpers/socket-pair.js";

const HELLO = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "berrymq.hello", params: {} });

// `count` hellos over `lanes` keep-alive connections.
async function hellos(url: string, agent: Agent, count: number, lanes = 8): Promise<void> {
  let left = count;
  const lane = async (): Promise<void> => {
    while (left-- > 0) {
      await new Promise<void>((resolve, reject) => {
        const req = request(url, { method: "POST", agent, headers: { "content-type": "application/json" } }, (res) => {
          res.resume();
          res.on("end", resolve);
        });
        req.on("error", reject);
        req.end(HELLO);
      });
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
}

describe("a bridge server keeps nothing of the requests and streams it has answered", () => {
  let server: BridgeServer;
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  before(async () => {
    server = await serve({ bus: new Bus({ id: "r31-signals" }) });
  });
  after(async () => {
    agent.destroy();
    await server.close();
  });

  it("answers 20,000 requests in bounded memory (the closing signal kept one WeakRef per request)", async () => {
    await hellos(server.url, agent, 4_000); // warm: parsers, sockets, caches
    const before = heapUsed();
    await hellos(server.url, agent, 20_000);
    const grown = heapUsed() - before;
    // Before the fix: ~60 bytes a request (1.2 MB); after: noise.
    assert.ok(grown < 300_000, `heap grew ${grown} bytes over 20,000 requests`);
  });

  it("closes 20,000 link streams given one long-lived signal in bounded memory", async () => {
    // The server gives every upgraded stream its closing signal; sockets that never connect are enough.
    const closing = new AbortController();
    const streams = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) specStream(new Socket(), { signal: closing.signal }).close("done");
      await new Promise((resolve) => setTimeout(resolve, 10)); // the sockets' close events
    };
    await streams(2_000);
    const before = heapUsed();
    await streams(20_000);
    let grown = heapUsed() - before;
    // On a loaded machine some sockets' close events come later than 10 ms: measured again, a few times.
    for (let tries = 0; tries < 5 && grown >= 300_000; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      grown = heapUsed() - before;
    }
    assert.ok(grown < 300_000, `heap grew ${grown} bytes over 20,000 streams`);
  });
});
