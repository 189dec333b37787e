// The r32 specs' TCP relay to a Redis whose connections are told apart by the CLIENT SETNAME they send
// (`berrymq-link-pub:`, `-rpub:`, `-sub:`): a spec holds what one kind sends (kept, passed on at release),
// silences one (a dead link: nothing passes either way, nothing is closed), or cuts it (both sides closed).
import { connect, createServer, type Server, type Socket } from "node:net";
import { freePort } from "../../helpers/free-port.js";

/** One relayed connection. */
interface Pair {
  client: Socket;
  upstream: Socket;
  /** What the client sent first (up to 4 KB): its CLIENT SETNAME says which connection it is. */
  label: string;
  /** Client data kept while held, passed on at release. */
  held: Buffer[] | undefined;
  silent: boolean;
}

/** A running relay. */
export interface LabelledRelay {
  readonly port: number;
  /** Open connections whose first bytes contain `name` (e.g. `berrymq-link-rpub:`). */
  count(name: string): number;
  /** Keeps what the open connections named `name` send from now on, until release(). */
  hold(name: string): void;
  /** Keeps, from that chunk on, what any connection sends once it sends a CONFIG GET of proto-max-bulk-len. */
  holdConfigGets: boolean;
  /** Connections held now (by hold() or by a CONFIG GET). */
  readonly held: number;
  /** Passes on what was held, and holds no more. */
  release(): void;
  /** Makes the open connections named `name` dead links: nothing passes, nothing is closed. */
  silence(name: string): void;
  /** Closes both sides of the open connections named `name` (what was held is dropped). */
  cut(name: string): void;
  close(): Promise<void>;
}

/** Starts a relay from a free port to 127.0.0.1:`target`. */
export async function labelledRelay(target: number): Promise<LabelledRelay> {
  const pairs = new Set<Pair>();
  const port = await freePort();
  const named = (name: string): Pair[] => [...pairs].filter((pair) => pair.label.includes(name));
  const server: Server = createServer((client) => {
    const upstream = connect(target, "127.0.0.1");
    const pair: Pair = { client, upstream, label: "", held: undefined, silent: false };
    pairs.add(pair);
    client.on("data", (data: Buffer) => {
      if (pair.label.length < 4_096) pair.label += data.toString("latin1");
      if (pair.silent) return;
      if (pair.held === undefined && relay.holdConfigGets && /proto-max-bulk-len/i.test(data.toString("latin1"))) pair.held = [];
      if (pair.held !== undefined) pair.held.push(data);
      else upstream.write(data);
    });
    upstream.on("data", (data: Buffer) => {
      if (!pair.silent) client.write(data);
    });
    client.on("error", () => undefined);
    upstream.on("error", () => undefined);
    const end = (): void => {
      pairs.delete(pair);
      if (pair.silent) return;
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end);
    upstream.on("close", end);
  });
  const relay: LabelledRelay = {
    port,
    count: (name) => named(name).length,
    hold(name) {
      for (const pair of named(name)) pair.held ??= [];
    },
    holdConfigGets: false,
    get held() {
      return [...pairs].filter((pair) => pair.held !== undefined).length;
    },
    release() {
      relay.holdConfigGets = false;
      for (const pair of pairs) {
        const held = pair.held;
        pair.held = undefined;
        for (const data of held ?? []) pair.upstream.write(data);
      }
    },
    silence(name) {
      for (const pair of named(name)) pair.silent = true;
    },
    cut(name) {
      for (const pair of named(name)) {
        pair.held = undefined;
        pair.client.destroy();
        pair.upstream.destroy();
      }
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
