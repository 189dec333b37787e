// A TCP server on 127.0.0.1 that takes connections and answers nothing (a paused process, a wedged proxy),
// closed with its sockets after the test.
import { createServer, type Socket } from "node:net";
import type { TestContext } from "node:test";

/** Starts one; its port. */
export async function silentServer(t: TestContext): Promise<number> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return (server.address() as { port: number }).port;
}
