// Review r26 of the 413 fit: a link learns the far side's body limit from a 413, taking our server's
// "request body larger than N bytes" at its word. A far side (or a proxy) that said "larger than 1 bytes"
// made the link refuse every message unposted until its next handshake. The bound learned has a floor
// (1 KiB): messages below it still go.
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { it } from "node:test";
import { SendOnlyClient, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { waitFor } from "../../helpers/wait-for.js";

it("a 413 that states a limit of 1 byte does not make the link drop every message", async () => {
  const far = new Bus();
  const near = new Bus();
  near.on("error", () => undefined);
  const server = await serve({ bus: far, maxBodySize: 20_000 });
  // Forwards to the server, rewriting the limit its 413 states.
  const proxy = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const up = http.request(server.url, { method: req.method, headers: req.headers }, (answer) => {
        const out: Buffer[] = [];
        answer.on("data", (chunk: Buffer) => out.push(chunk));
        answer.on("end", () => {
          let text = Buffer.concat(out).toString();
          if (answer.statusCode === 413) text = text.replace(/larger than \d+ bytes/, "larger than 1 bytes");
          res.writeHead(answer.statusCode ?? 500, { ...answer.headers, "content-length": String(Buffer.byteLength(text)) });
          res.end(text);
        });
      });
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  const received: number[] = [];
  far.follow("app:n", (message) => void received.push(message.args[0] as number));
  const link = new SendOnlyClient(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}/`, {
    bus: near,
    exportFilters: ["app:*"],
    retryDelay: { initial: 20, max: 100 },
  });
  link.on("error", () => undefined);
  try {
    await link.connected();
    // 200 messages of ~400 bytes in one batch (~80 KB: refused 413), one of 25 KB (over the limit alone).
    for (let i = 0; i < 200; i++) near.twitter("app:n", i, "p".repeat(i === 50 ? 25_000 : 400));
    await waitFor(() => link.backlog === 0, "the batch settled", 10_000);
    assert.equal(received.length, 199, `received ${received.length} of the 199 that fit; stats ${JSON.stringify(link.stats)}`);
    assert.equal(link.stats.dropped, 1);
  } finally {
    await link.close();
    proxy.close();
    await server.close();
    far.close();
    near.close();
  }
});
