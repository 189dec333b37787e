import type { Message } from "../../lib/message.js";
import type { Envelope } from "../envelope.js";
import { Link, type LinkOptions } from "../link.js";
import type { LegacyEchoFilter } from "./legacy-echo-filter.js";
import { reportOn, sendLegacy } from "./legacy-sender.js";
import { RpcEndpoint, type RpcEndpointOptions } from "./rpc-endpoint.js";

/** Options of the links a bridge server opens back to its peers (both wire forms): a link's, and its endpoint's answer bounds. */
export type PeerLinkDefaults = LinkOptions & Pick<RpcEndpointOptions, "timeout" | "maxAnswerSize">;

/** How the server wires a {@link LegacyPeerLink} (internal). */
export interface LegacyPeerWiring {
  /** The peer's `0.3@host:port` hop: messages that passed through it are not sent back to it. */
  hop: string;
  /** The bus's echo filter (created before this link, so it sees every message first). */
  echoes: LegacyEchoFilter;
  /** The peer forgot our token: the server closes the session. */
  onLost(): void;
  /** A message reached the peer: its session is alive even if the peer never sends (as between 0.3 nodes). */
  onAlive(): void;
}

/**
 * The server's end of a link a berryMQ 0.3 peer opened with `interconnect(addr, token, ttl)`: forwards
 * every exported message to `http://host:port/` as one JSON-RPC 1.0 `send_message` call each (0.3 has no
 * batches), in order, buffered and retried while the peer is down. A message the peer refuses is reported
 * and skipped; echoes of what went through the peer are recognised by {@link LegacyEchoFilter}.
 */
export class LegacyPeerLink extends Link {
  readonly #endpoint: RpcEndpoint;
  readonly #token: string;
  readonly #wiring: LegacyPeerWiring;

  // A 0.3 node would take a neighbour list for a message and forward it to its own peers.
  protected override get carriesControl(): boolean {
    return false;
  }

  // Nor does it hold to berrymq's envelope limits (an identifier of any length goes).
  protected override get carriesEnvelopes(): boolean {
    return false;
  }

  constructor(url: string, token: string, wiring: LegacyPeerWiring, options: PeerLinkDefaults = {}) {
    const { timeout, maxAnswerSize } = options;
    // Built (its url and options checked) before super(): a bad one throws before the link is on the bus.
    const endpoint = new RpcEndpoint(url, {
      ...(timeout === undefined ? {} : { timeout }),
      ...(maxAnswerSize === undefined ? {} : { maxAnswerSize }),
    });
    // One message per attempt: a retry never sends again what a 0.3 peer (no de-duplication) already took.
    super({ ...options, maxBatch: 1 });
    this.#endpoint = endpoint;
    this.#token = token;
    this.#wiring = wiring;
    this.remoteBusId = wiring.hop;
    this.start();
  }

  /** The peer's `0.3@host:port` hop. */
  get hop(): string {
    return this.#wiring.hop;
  }

  /** Takes a message the peer sent with `send_message`. */
  acceptMessage(message: Message): number | undefined {
    return this.receiveMessage(message);
  }

  /** Takes an envelope (a 0.3 peer never sends one; here for the server's one code path). */
  accept(frame: unknown): number | undefined {
    return this.receive(frame);
  }

  protected override async transmit(batch: Envelope[]): Promise<void> {
    await sendLegacy(
      {
        name: this.name,
        endpoint: this.#endpoint,
        token: this.#token,
        skip: (error) => {
          this.stats.dropped++;
          reportOn(this, this.bus, error);
        },
        lost: () => setImmediate(this.#wiring.onLost),
        answered: (envelope, taken) => this.partSent([envelope], taken),
      },
      batch,
    );
    this.#wiring.onAlive();
  }

  protected override async closeTransport(): Promise<void> {
    this.#endpoint.close();
  }
}
