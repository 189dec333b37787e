// A bare node:http client for the wire specs: what any language's HTTP library would send.
import assert from "node:assert/strict";
import { request } from "node:http";

/** Status, headers and decoded body of one answer. */
export interface RawAnswer {
  status: number;
  body: unknown;
  text: string;
}

/** POSTs `body` (a string is sent as is, anything else as JSON) to `url` and decodes the answer. */
export function post(url: string, body: unknown, headers: Record<string, string> = {}, method = "POST"): Promise<RawAnswer> {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { "content-type": "application/json", ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const answer = Buffer.concat(chunks).toString();
        let decoded: unknown;
        try {
          decoded = answer === "" ? undefined : JSON.parse(answer);
        } catch {
          decoded = answer;
        }
        resolve({ status: res.statusCode ?? 0, body: decoded, text: answer });
      });
    });
    req.on("error", reject);
    req.end(method === "GET" ? undefined : text);
  });
}

/**
 * Opens a oneway session on the bridge server at `url` and sends `count` messages (`app:x`, args [i]) through
 * it, `pause` ms apart, asserting each was taken (result 0: no follower there); resolves to the session's token.
 */
export async function twitterMessages(url: string, count: number, pause = 0): Promise<string> {
  const opened = await post(url, { jsonrpc: "2.0", id: 1, method: "berrymq.connect", params: { style: "oneway" } });
  const token = (opened.body as { result: { token: string } }).result.token;
  for (let i = 0; i < count; i++) {
    const sent = await post(url, { jsonrpc: "2.0", id: i, method: "berrymq.twitter", params: { token, identifier: "app:x", args: [i] } });
    assert.equal((sent.body as { result: unknown }).result, 0, sent.text);
    if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
  }
  return token;
}
