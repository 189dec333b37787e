// Review r25: an answer refused alone with HTTP 413 is dropped and its asker sent an error answer; but it
// stayed in the batch in flight, so when a later half of that split batch failed (the token expired) the
// link retried the whole batch, got the 413 again, and sent a second error answer with a new messageId:
// a request waiting for 2 answers resolved with the same error twice. It is now taken out of the batch:
// one error answer, one drop, and not counted as sent.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { it } from "node:test";
import { SendOnlyClient } from "../../bridges/jsonrpc/send-only-client.js";
import { Bus } from "../../lib/bus.js";
import type { Message } from "../../lib/message.js";
import { waitFor } from "../helpers/wait-for.js";

const LIMIT = 5_000;

interface Call {
  id: number;
  params: { envelope: { args: unknown[] } };
}

it("review: an answer refused with 413 in a batch retried after a failure gets one error answer, not two", async () => {
  let expireOnce = true;
  let sawSecondSmall = false;
  // A JSON-RPC server with a 5,000-byte body limit that expires the token once, for the batch holding "small2".
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on("end", () => {
      const reply = (status: number, value: unknown): void => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(value));
      };
      if (body.length > LIMIT) return reply(413, { jsonrpc: "2.0", id: null, error: { code: -32007, message: "too large" } });
      const parsed = JSON.parse(body) as Call | Call[];
      if (!Array.isArray(parsed)) return reply(200, { jsonrpc: "2.0", id: parsed.id, result: { token: "t" } });
      if (parsed.some((call) => JSON.stringify(call.params.envelope.args).includes("small2"))) {
        sawSecondSmall = true;
        if (expireOnce) {
          expireOnce = false;
          return reply(200, parsed.map((call) => ({ jsonrpc: "2.0", id: call.id, error: { code: -32002, message: "token expired" } })));
        }
      }
      reply(200, parsed.map((call) => ({ jsonrpc: "2.0", id: call.id, result: true })));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const asker = new Bus({ id: "r25-413-asker" });
  const bus = new Bus({ id: "r25-413-answerer" });
  bus.on("error", () => undefined);
  const errorAnswers: Message[] = [];
  bus.on("message", (message) => {
    if (message.inReplyTo !== undefined && (message.kwargs as { error?: unknown }).error !== undefined) errorAnswers.push(message);
  });
  bus.follow("svc:big", () => "x".repeat(20_000)); // over the far server's body limit: 413
  const link = new SendOnlyClient(`http://127.0.0.1:${port}/`, { bus, retryDelay: { initial: 20, max: 50 } });
  link.on("error", () => undefined);
  try {
    await link.connected();
    bus.twitter("s:one", "small1");
    // The asker's request, injected into the answering bus as if it had come over a link.
    let request: Message | undefined;
    asker.on("message", (message) => {
      if (message.replyTo !== undefined) request = message;
    });
    void asker.request("svc:big", { timeout: 1_000 }).catch(() => undefined);
    assert.ok(request !== undefined);
    bus.inject(request);
    await new Promise((resolve) => setImmediate(resolve));
    bus.twitter("s:two", "small2"); // in the same batch as the answer, in a half sent after it: fails once
    await waitFor(() => sawSecondSmall && link.backlog === 0, "the batch sent, retried once");
    assert.equal(link.stats.retries, 1, "the batch was retried");
    assert.equal(errorAnswers.length, 1, `error answers sent: ${errorAnswers.length}`);
    assert.equal(link.stats.dropped, 1);
  } finally {
    await link.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
