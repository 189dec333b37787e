// A TCP relay to a local port whose connections a spec cuts on the client's side only: the client's socket is
// destroyed while the server's stays open and silent (what the server sends is read and dropped; nothing is
// sent to it, and it is never closed from here), as a NAT rebinding or a link dead without a TCP close leaves
// a connection. New connections through the relay are relayed as before.
import { connect, createServer, type Server, type Socket } from "node:net";
import { freePort } from "./free-port.js";

/** A running relay. */
export interface HalfOpenRelay {
  /** The port clients connect to. */
  readonly port: number;
  /** Connections cut on the client's side whose server side is still open. */
  readonly halfOpen: number;
  /** Connections cut on the client's side whose server side the server has closed since. */
  readonly closedByServer: number;
  /** Cuts the client's side of every open connection; their server sides stay open and silent. */
  cutClientSide(): void;
  /**
   * Makes every open connection a dead link: nothing passes either way and nothing is closed from here (a
   * host powered off, a cable cut): each end learns of it only by its own heartbeats.
   */
  silence(): void;
  /** Closes every socket and stops listening. */
  close(): Promise<void>;
}

/** Starts a relay from a free port to 127.0.0.1:`target`. */
export async function halfOpenRelay(target: number): Promise<HalfOpenRelay> {
  const pairs = new Set<{ client: Socket; upstream: Socket; cut: boolean; silent: boolean }>();
  const port = await freePort();
  let halfOpen = 0;
  let closedByServer = 0;
  const server: Server = createServer((client) => {
    const upstream = connect(target, "127.0.0.1");
    const pair = { client, upstream, cut: false, silent: false };
    pairs.add(pair);
    client.on("data", (data) => {
      if (!pair.silent) upstream.write(data);
    });
    upstream.on("data", (data) => {
      if (!pair.cut && !pair.silent) client.write(data);
    });
    client.on("error", () => undefined);
    upstream.on("error", () => undefined);
    client.on("close", () => {
      if (!pair.cut && !pair.silent) upstream.destroy();
    });
    upstream.on("close", () => {
      pairs.delete(pair);
      if (pair.silent) return;
      if (!pair.cut) return void client.destroy();
      halfOpen--;
      closedByServer++;
    });
  });
  const relay: HalfOpenRelay = {
    port,
    get halfOpen() {
      return halfOpen;
    },
    get closedByServer() {
      return closedByServer;
    },
    cutClientSide() {
      for (const pair of pairs) {
        if (pair.cut) continue;
        pair.cut = true;
        halfOpen++;
        pair.client.destroy();
      }
    },
    silence() {
      for (const pair of pairs) pair.silent = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const { client, upstream } of pairs) {
          client.destroy();
          upstream.destroy();
        }
        server.close(() => resolve());
      }),
  };
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return relay;
}
