import type { IncomingMessage } from "node:http";

/** A body that ended before `limit` bytes, or the fact that it would not. */
export type BodyResult =
  | { ok: true; text: string }
  | { ok: false; tooLarge: true }
  | { ok: false; tooLarge: false; error: Error };

/** Reads a request body as UTF-8 text, giving up (without buffering more) as soon as it passes `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      resolve({ ok: false, tooLarge: true });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        chunks.length = 0;
        resolve({ ok: false, tooLarge: true });
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (done) return;
      done = true;
      resolve({ ok: true, text: Buffer.concat(chunks, size).toString("utf8") });
    });
    req.on("error", (error) => {
      if (done) return;
      done = true;
      resolve({ ok: false, tooLarge: false, error });
    });
  });
}
