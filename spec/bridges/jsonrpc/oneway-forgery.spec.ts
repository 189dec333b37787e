// A send-only connection (any local process can open one) posing as an answerer: envelopes with `to` /
// `inReplyTo` would settle another process's request with a forged answer.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BridgeErrorCode, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import type { Message } from "../../../lib/message.js";
import { within } from "../../../lib/request.js";
import { RequestTimeoutError } from "../../../lib/request-errors.js";
import { post } from "./raw-http.js";

type Rpc = { result?: unknown; error?: { code: number; message: string } };

describe("send-only connections", () => {
  it("may not send answers (to/inReplyTo): a forged answer is refused and settles nothing", async () => {
    const bus = new Bus({ id: "forge-victim" });
    const server = await serve({ bus });
    try {
      let requestId = "";
      bus.on("message", (m: Message) => {
        if (m.id === "svc:secret") requestId = m.messageId;
      });
      const pending = bus.request("svc:secret", within({ timeout: 800 }));
      const connect = { jsonrpc: "2.0", id: 1, method: "berrymq.connect", params: { style: "oneway", ttl: 60 } };
      const token = ((await post(server.url, connect)).body as { result: { token: string } }).result.token;
      const envelope = {
        v: 1,
        id: "berrymq-reply:forge-victim",
        args: ["forged"],
        kwargs: {},
        messageId: "mallory/1",
        timestamp: Date.now(),
        hops: ["trusted-service"],
        to: "forge-victim",
        inReplyTo: requestId,
      };
      const answer = (await post(server.url, { jsonrpc: "2.0", id: 2, method: "berrymq.send", params: { token, envelope } }))
        .body as Rpc;
      assert.equal(answer.error?.code, BridgeErrorCode.Forbidden, JSON.stringify(answer));
      await assert.rejects(pending, RequestTimeoutError);
      // Ordinary messages still go.
      const plain = { ...envelope, id: "app:log", messageId: "mallory/2", to: undefined, inReplyTo: undefined };
      const sent = (await post(server.url, { jsonrpc: "2.0", id: 3, method: "berrymq.send", params: { token, envelope: plain } }))
        .body as Rpc;
      assert.equal(sent.error, undefined, JSON.stringify(sent));
    } finally {
      await server.close();
      bus.close();
    }
  });
});
