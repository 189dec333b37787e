// Red team (r21): RpcEndpoint.upgrade() bounded its wait with a socket (idle) timeout, which starts again
// on every byte: a server trickling its answer one byte every 100 ms held the upgrade for ever.
import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { it } from "node:test";
import { RpcEndpoint } from "../../../bridges/jsonrpc/rpc-endpoint.js";
import { settlesWithin } from "../../helpers/wait-for.js";

it("red team: upgrade() against a server that trickles its answer one byte every 100 ms fails at its timeout, naming the URL", async () => {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.once("data", () => {
      // A status line and a header that never ends.
      const answer = `HTTP/1.1 101 Switching Protocols\r\nX-Pad: ${"a".repeat(10_000)}`;
      let sent = 0;
      const timer = setInterval(() => {
        if (socket.destroyed || sent >= answer.length) return clearInterval(timer);
        socket.write(answer[sent++] as string);
      }, 100);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const endpoint = new RpcEndpoint(`http://127.0.0.1:${port}/`);
  try {
    const started = performance.now();
    const upgrading = endpoint.upgrade("token", 1024, "nonce", "berrymq-link/2", 500).then(
      () => undefined,
      (error: unknown) => error,
    );
    // Before: the idle timeout never fired (a byte every 100 ms), and the upgrade never settled.
    assert.ok(await settlesWithin(upgrading, 5_000), "the upgrade settles while the server trickles");
    const took = performance.now() - started;
    assert.match(String(await upgrading), new RegExp(`127\\.0\\.0\\.1:${port}/: no answer to the upgrade within 500 ms`));
    assert.ok(took >= 450 && took < 2_500, `at its timeout (${Math.round(took)} ms)`);
  } finally {
    for (const timer of timers) clearInterval(timer);
    for (const socket of sockets) socket.destroy();
    endpoint.close();
    await new Promise((resolve) => server.close(resolve));
  }
});
