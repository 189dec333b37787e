import { LinkStream, type LinkStreamOptions } from "../../bridges/jsonrpc/link-stream.js";
import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";

/** Two ends of one TCP connection on 127.0.0.1 (a stream goes on one, a spec writes raw bytes on the other); both are added to `toClose`. */
export async function socketPair(toClose: { destroy(): void }[]): Promise<[Socket, Socket]> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const client = connect((server.address() as { port: number }).port, "127.0.0.1");
  const [accepted] = (await once(server, "connection")) as [Socket];
  await once(client, "connect");
  server.close();
  toClose.push(client, accepted);
  return [client, accepted];
}

/** A version 2 link stream on `socket` that takes nothing (specs override what they need: `take`, frame limits…). */
export function specStream(socket: Socket, options: Partial<LinkStreamOptions> = {}): LinkStream {
  return new LinkStream(socket, Buffer.alloc(0), {
    name: "spec stream",
    maxFrame: 1024 * 1024,
    farMaxFrame: 1024 * 1024,
    answer: () => null,
    version: 2,
    take: () => () => [],
    ...options,
  });
}
