// A TCP forwarder to a local port that a spec opens, shuts and points elsewhere: while shut it drops every
// connection, so a client reconnects only when the spec lets it, and to the server the spec chose.
import { connect, createServer, type Server, type Socket } from "node:net";
import { freePort } from "./free-port.js";

/** A running forwarder. */
export interface TcpGate {
  /** The port clients connect to. */
  readonly port: number;
  /** Whether new connections are let through. */
  open: boolean;
  /** The 127.0.0.1 port new connections are forwarded to. */
  target: number;
  /** Lets no new connection through and cuts every open one. */
  shut(): void;
  /** Shuts it and stops listening. */
  close(): Promise<void>;
}

/** Starts a forwarder from a free port to 127.0.0.1:`target`, open. */
export async function tcpGate(target: number): Promise<TcpGate> {
  const sockets = new Set<Socket>();
  const port = await freePort();
  const server: Server = createServer((client) => {
    if (!gate.open) return void client.destroy();
    const upstream = connect(gate.target, "127.0.0.1");
    sockets.add(client).add(upstream);
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      from.on("error", () => to.destroy());
      from.on("close", () => {
        sockets.delete(from);
        to.destroy();
      });
      from.pipe(to);
    }
  });
  const gate: TcpGate = {
    port,
    open: true,
    target,
    shut() {
      gate.open = false;
      for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        gate.shut();
        server.close(() => resolve());
      }),
  };
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return gate;
}
