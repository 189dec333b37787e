// Red team (r25): RpcEndpoint keeps 4 sockets to a server; a call made while all 4 were busy waited in the
// agent's queue, and its deadline (req.destroy) took effect only once a socket came free: a PeerLink ping
// with a 100 ms timeout behind four 60 s calls failed after 60 s. A call now fails at its timeout, queued
// or not, and the queued request never reaches the server afterwards.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { it } from "node:test";
import { RpcEndpoint } from "../../../bridges/jsonrpc/rpc-endpoint.js";
import { settlesWithin, waitFor } from "../../helpers/wait-for.js";

it("red team: a call queued behind 4 busy sockets fails at its own timeout, not when a socket frees", async () => {
  const held: ServerResponse[] = [];
  const bodies: string[] = [];
  let answerAll = false;
  const answer = (res: ServerResponse): void => void res.end(JSON.stringify({ jsonrpc: "2.0", id: null, result: 0 }));
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on("end", () => {
      bodies.push(body);
      if (answerAll) answer(res);
      else held.push(res); // answered by the spec, at the end
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const endpoint = new RpcEndpoint(`http://127.0.0.1:${port}/`);
  try {
    const blockers = [1, 2, 3, 4].map((n) => endpoint.call("block", [n], 30_000).catch((error: unknown) => error));
    await waitFor(() => held.length === 4, "the 4 sockets busy");
    const started = performance.now();
    const queued = endpoint.call("queued", [], 300).then(
      () => "answered",
      (error: unknown) => error,
    );
    assert.ok(await settlesWithin(queued, 5_000), "the queued call settles while the 4 calls before it are held");
    const took = performance.now() - started;
    assert.match(String(await queued), /no answer within 300 ms/);
    assert.ok(took < 2_500, `at its timeout (${Math.round(took)} ms)`);
    // Once a socket frees, the abandoned request is not sent.
    answerAll = true;
    for (const res of held.splice(0)) answer(res);
    await Promise.all(blockers);
    await endpoint.call("after", [], 5_000);
    assert.ok(bodies.some((body) => body.includes('"after"')), "a later call goes through");
    assert.equal(bodies.filter((body) => body.includes('"queued"')).length, 0, "the timed-out call never reached the server");
  } finally {
    for (const res of held) res.destroy();
    endpoint.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
