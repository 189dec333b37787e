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
  /**
   * Ms the target's side of a connection stays open after the client closed its side (default 0): the
   * end of a connection reaches the target late, as through a slow proxy, after the client's next one.
   */
  closeDelay: number;
  /** Connections let through so far. */
  readonly connections: number;
  /** Lets no new connection through and cuts every open one. */
  shut(): void;
  /** Shuts it and stops listening. */
  close(): Promise<void>;
}

/** Starts a forwarder from a free port to 127.0.0.1:`target`, open. */
export async function tcpGate(target: number): Promise<TcpGate> {
  const sockets = new Set<Socket>();
  const port = await freePort();
  let connections = 0;
  const server: Server = createServer((client) => {
    if (!gate.open) return void client.destroy();
    connections++;
    const upstream = connect(gate.target, "127.0.0.1");
    sockets.add(client).add(upstream);
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      // A client's end (a close, or a reset: ZeroMQ with linger 0 resets) reaches the target after closeDelay.
      const end = (): void => {
        if (from === client && gate.closeDelay > 0 && gate.open) setTimeout(() => to.destroy(), gate.closeDelay).unref();
        else to.destroy();
      };
      from.on("error", end);
      from.on("close", () => {
        sockets.delete(from);
        end();
      });
      // Not ended by the client's FIN either while its end is delayed.
      from.pipe(to, { end: from !== client || gate.closeDelay === 0 });
    }
  });
  const gate: TcpGate = {
    port,
    open: true,
    target,
    closeDelay: 0,
    get connections() {
      return connections;
    },
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
