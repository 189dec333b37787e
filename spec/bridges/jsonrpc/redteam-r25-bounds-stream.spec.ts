// Red team r25 (bounds): a link stream's write buffer was sized by the far side's own claim. The stream
// cut a far side that reads nothing once more than 4 × max(maxFrame, farMaxFrame) bytes waited to be
// written, and farMaxFrame is whatever the far side puts in its `berrymq-max-frame` header: a client
// claiming 10^12 bytes, pipelining pings and reading no answer grew the server's heap without end (10 →
// 181 MB for 2M pings in the audit's probe) and was never cut. The far side's limit now counts at most as
// this side's own maxFrame, both for the write bound and for what is sent on the stream.
import assert from "node:assert/strict";
import { type IncomingMessage, request } from "node:http";
import type { Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { type BridgeServer, type PeerLink, serve } from "../../../bridges/jsonrpc/index.js";
import { STREAM_PROTOCOL } from "../../../bridges/jsonrpc/link-stream.js";
import { Bus } from "../../../lib/bus.js";
import { socketPair, specStream } from "../../helpers/socket-pair.js";
import { waitFor } from "../../helpers/wait-for.js";
import { post } from "./raw-http.js";

const MAX_BODY = 64 * 1024;
const CLAIM = "1000000000000";

function upgrade(url: string, headers: Record<string, string>): Promise<{ status: number; socket?: Socket }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "GET", headers: { connection: "Upgrade", ...headers } });
    req.on("error", reject);
    req.on("response", (res: IncomingMessage) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    req.on("upgrade", (_res, socket: Socket) => resolve({ status: 101, socket }));
    req.end();
  });
}

describe("a link stream's write buffer is bounded by this side, not by the far side's berrymq-max-frame", () => {
  let server: BridgeServer;
  let peerServer: BridgeServer;
  let token: string;
  before(async () => {
    server = await serve({ bus: new Bus({ id: "r25-stream-bound" }), maxBodySize: MAX_BODY });
    peerServer = await serve({ bus: new Bus({ id: "r25-stream-bound-peer" }) });
    // The link back the server opens sends with this token: the peer's server must know it.
    const sink = { accept: () => 0, acceptMessage: () => 0, close: async () => ({ undelivered: [] }) };
    peerServer.attachPeer("r25-peer-token", sink as unknown as PeerLink);
    const answer = await post(server.url, {
      jsonrpc: "2.0",
      id: 1,
      method: "berrymq.interconnect",
      params: { url: peerServer.url, token: "r25-peer-token", busId: "r25-stream-bound-peer", ttl: 60 },
    });
    token = (answer.body as { result: { token: string } }).result.token;
  });
  after(async () => {
    await server.close();
    await peerServer.close();
  });

  it("cuts a far side that claims a 10^12-byte frame, pipelines pings and reads none of the answers", async () => {
    const opened = await upgrade(server.url, {
      "content-type": "application/json",
      upgrade: STREAM_PROTOCOL,
      "berrymq-token": token,
      "berrymq-max-frame": CLAIM,
    });
    assert.equal(opened.status, 101);
    const socket = opened.socket as Socket;
    let cut = false;
    socket.on("close", () => {
      cut = true;
    });
    socket.on("error", () => {});
    socket.pause(); // never reads again
    // One frame: a JSON-RPC batch of 400 pings (~28 kB, under the server's maxBodySize); each answer frame
    // is ~12 kB. 32 frames per timer turn keep fewer than 64 waiting for their answer (STREAM_MAX_QUEUED).
    const ping = { jsonrpc: "2.0", id: 1, method: "berrymq.ping", params: { token } };
    const frame = `${JSON.stringify(Array.from({ length: 400 }, () => ping))}\n`;
    assert.ok(frame.length < MAX_BODY);
    // At most 1,500 frames (~18 MB of answers: several times what loopback socket buffers take in and
    // far more than 4 × maxBodySize); the server cuts long before.
    let sent = 0;
    const pumping = (async () => {
      while (!cut && sent < 1_500) {
        for (let i = 0; i < 32 && !cut; i++, sent++) socket.write(frame);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    try {
      await waitFor(() => cut || sent >= 1_500, "the server to cut the stream, or all frames to be written", 60_000);
      await pumping;
      // The server has answered everything it read of what was written: a stream still open now is one
      // it will never cut (before the fix its write buffer could grow to 4 × 10^12 bytes).
      await waitFor(() => cut, "the server to cut a far side that reads nothing", 10_000);
    } finally {
      socket.destroy();
    }
    assert.ok(sent < 1_500, `cut after ${sent} frames written`);
    // The server still serves.
    const hello = await post(server.url, { jsonrpc: "2.0", id: 2, method: "berrymq.hello", params: {} });
    assert.equal((hello.body as { result: { busId: string } }).result.busId, "r25-stream-bound");
  });

  it("a far side's larger frame limit does not make this side send frames larger than its own maxFrame", async () => {
    const toClose: { destroy(): void }[] = [];
    try {
      const [near] = await socketPair(toClose);
      const stream = specStream(near, { version: 1, maxFrame: 1_000, farMaxFrame: 1e12 });
      assert.equal(stream.carries("x".repeat(900)), true);
      assert.equal(stream.carries("x".repeat(2_000)), false, "a body above this side's maxFrame goes as a POST");
      const v2 = specStream((await socketPair(toClose))[0], { maxFrame: 1_000, farMaxFrame: 1e12 });
      assert.equal(v2.sendEncodedBatch(JSON.stringify(["x".repeat(2_000)]), 1_000), undefined);
      v2.close("done");
      stream.close("done");
    } finally {
      for (const socket of toClose) socket.destroy();
    }
  });
});
