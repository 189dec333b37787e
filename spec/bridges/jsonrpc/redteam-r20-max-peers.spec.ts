// Red team r20: every `interconnect` opens a link back to the caller's URL (sockets, a ping every 2 s, a
// buffer of up to 10,000 messages), and they were bounded only by maxSessions (10,000 tokens): 500 calls
// in ten batches held 500 outgoing connections to a port that never answers. maxPeers bounds them. The
// server runs in a child process; its links back point at a TCP port of this process that never answers.
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { BridgeErrorCode } from "../../../bridges/jsonrpc/index.js";
import { type PeerProcess, startPeer } from "./peer-process.js";
import { post } from "./raw-http.js";

type Rpc = { result?: { token: string }; error?: { code: number; message: string } };
type Legacy = { result: unknown; error: { code: number; message: string } | null };

describe("links back to peers are bounded (maxPeers)", () => {
  let server: PeerProcess;
  let sink: Server;
  let sinkPort: number;
  const sockets: Socket[] = [];
  before(async () => {
    sink = createServer((socket) => {
      socket.on("error", () => {});
      sockets.push(socket);
    });
    await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
    sinkPort = (sink.address() as { port: number }).port;
    server = await startPeer({ busId: "r20-max-peers", server: { maxPeers: 2 } });
  });
  after(async () => {
    await server.stop();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => sink.close(resolve));
  });

  const interconnect = async (n: number): Promise<Rpc> =>
    (
      await post(server.url, {
        jsonrpc: "2.0",
        id: n,
        method: "berrymq.interconnect",
        params: { url: `http://127.0.0.1:${sinkPort}/`, token: `far-${n}`, busId: `far-${n}`, ttl: 60 },
      })
    ).body as Rpc;

  it("refuses one more peer link than maxPeers with -32010 on both wire forms; other tokens still open; a closed peer makes room", async () => {
    const first = await interconnect(1);
    const legacy = (await post(server.url, { id: null, method: "interconnect", params: [["127.0.0.1", sinkPort], "old-1", 60] }))
      .body as Legacy;
    assert.equal(typeof first.result?.token, "string");
    assert.equal(legacy.error, null);
    const refused = await interconnect(2);
    assert.equal(refused.error?.code, BridgeErrorCode.LimitExceeded, `refused: ${JSON.stringify(refused)}`);
    assert.match(refused.error?.message ?? "", /maxPeers/);
    const refusedLegacy = (await post(server.url, { id: null, method: "interconnect", params: [["127.0.0.1", sinkPort], "old-2", 60] }))
      .body as Legacy;
    assert.equal(refusedLegacy.error?.code, BridgeErrorCode.LimitExceeded);
    const oneway = (await post(server.url, { jsonrpc: "2.0", id: 9, method: "berrymq.connect", params: { style: "oneway" } })).body as Rpc;
    assert.equal(typeof oneway.result?.token, "string", "a send-only token is not a peer link: still issued");
    await post(server.url, { jsonrpc: "2.0", id: 10, method: "berrymq.close", params: { token: first.result?.token } });
    const again = await interconnect(3);
    assert.equal(typeof again.result?.token, "string", `room again: ${JSON.stringify(again)}`);
  });
});
