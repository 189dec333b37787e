// A TCP forwarder to a local server whose connections a spec taps: it sees (and may hold back) what goes
// towards the server, and sees what comes back (the r26 413 specs count, or freeze, through it).
import { type AddressInfo, connect, createServer, type Socket } from "node:net";

/** What one forwarded connection does with the bytes crossing it. */
export interface Taps {
  /** A chunk from the client towards the target: written to `upstream`, or not. */
  toTarget(chunk: Buffer, upstream: Socket): void;
  /** A chunk from the target, seen before it goes to the client (without it, the answers are piped). */
  fromTarget?(chunk: Buffer): void;
}

/** A running forwarder. */
export interface TappedForwarder {
  /** `http://127.0.0.1:<its port>/`. */
  url: string;
  /** Cuts every connection and stops listening. */
  close(): Promise<void>;
}

/** Starts a forwarder from a free port to 127.0.0.1:`target`; `tap()` gives each new connection its taps. */
export async function tappedForwarder(target: number, tap: () => Taps): Promise<TappedForwarder> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => undefined);
    }
    const taps = tap();
    client.on("data", (chunk: Buffer) => taps.toTarget(chunk, upstream));
    const { fromTarget } = taps;
    if (fromTarget === undefined) upstream.pipe(client);
    else
      upstream.on("data", (chunk: Buffer) => {
        fromTarget(chunk);
        client.write(chunk);
      });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
