// A closing bridge server answers a call that reaches it on a kept-alive socket with HTTP 503 and the
// JSON-RPC code ServerClosing: for a remote queue's get that means its queue is closed (the server closes
// every queue it holds), as a local Queue closed under a get says. It said "HTTP 503: {...}", and `berrymq
// tail` printed that. A stand-in server answers the way the bridge server does, at the moment it is hard to
// hit: a get arriving between close() and the cut of its socket.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { describe, it } from "node:test";
import { BridgeErrorCode, HttpStatusError, RemoteQueueClient, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { QueueClosedError } from "../../../lib/errors.js";

describe("a remote queue's get answered ServerClosing (r28)", () => {
  it("rejects with QueueClosedError, and the iterator ends", async () => {
    const http = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => {
        const call = JSON.parse(body) as { id: number; method: string };
        if (call.method === "berrymq.connect") {
          res.setHeader("content-type", "application/json");
          return res.end(JSON.stringify({ jsonrpc: "2.0", id: call.id, result: { token: "t", copy: true } }));
        }
        const refusal = { jsonrpc: "2.0", id: null, error: { code: BridgeErrorCode.ServerClosing, message: "closing" } };
        res.writeHead(503, { "content-type": "application/json", connection: "close" });
        res.end(JSON.stringify(refusal));
      });
    });
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const { port } = http.address() as { port: number };
    const queue = await RemoteQueueClient.connect(`http://127.0.0.1:${port}/`, { filter: "app:*", copy: true });
    try {
      await assert.rejects(queue.get({ timeout: 1_000 }), QueueClosedError);
      const seen: unknown[] = [];
      for await (const message of queue) seen.push(message);
      assert.deepEqual(seen, []);
    } finally {
      await queue.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  });

  it("HttpStatusError carries the body's JSON-RPC code, and none for a body that has none", () => {
    const body = JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32012, message: "closing" } });
    assert.equal(new HttpStatusError("http://x/", 503, body).rpcCode, -32012);
    assert.equal(new HttpStatusError("http://x/", 502, "<html>bad gateway</html>").rpcCode, undefined);
    assert.equal(new HttpStatusError("http://x/", 503, '{"error": {"code": "x"}}').rpcCode, undefined);
  });

  it("a get or getNowait that close() interrupts rejects with QueueClosedError, as a local Queue's (r27 gap)", async () => {
    const server = await serve({ bus: new Bus() });
    try {
      for (const call of ["getNowait", "get"] as const) {
        const queue = await RemoteQueueClient.connect(server.url, { filter: "app:*" });
        const pending = (call === "get" ? queue.get({ timeout: 5_000 }) : queue.getNowait()).then(
          () => "a message",
          (error: unknown) => error,
        );
        await queue.close();
        const outcome = await pending;
        assert.ok(outcome instanceof QueueClosedError, `${call} interrupted by close(): ${String(outcome)}`);
      }
    } finally {
      await server.close();
    }
  });
});
