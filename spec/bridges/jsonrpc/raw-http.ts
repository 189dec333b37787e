// A bare node:http client for the wire specs: what any language's HTTP library would send.
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
