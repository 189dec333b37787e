import { checkTimerDelay } from "../../lib/long-timer.js";
import type { Message } from "../../lib/message.js";
import type { Envelope } from "../envelope.js";
import { Link, type LinkOptions } from "../link.js";
import type { LegacyEchoFilter } from "./legacy-echo-filter.js";
import { LEGACY_PROBE_INTERVAL, probeLegacy } from "./legacy-probe.js";
import { reportOn, sendLegacy } from "./legacy-sender.js";
import { RpcEndpoint, type RpcEndpointOptions } from "./rpc-endpoint.js";

/** Options of the links a bridge server opens back to its peers (both wire forms): a link's, and its endpoint's answer bounds. */
export type PeerLinkDefaults = LinkOptions &
  Pick<RpcEndpointOptions, "timeout" | "maxAnswerSize"> & {
    /**
     * How often a link back to a berryMQ 0.3 peer probes it while quiet, in ms (default 2,000): a peer that
     * does not answer makes the link `down` (see {@link LegacyPeerLink}). A berrymq peer's link back does not ping.
     */
    pingInterval?: number;
  };

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
 * While nothing is being sent it probes the peer every `pingInterval` ms (see {@link probeLegacy}: 0.3 has
 * no ping): a peer that does not answer (killed, its port closed, hung past the interval) makes the link
 * `down` at once rather than at its next message, and the link asks again with its retry backoff until the
 * peer answers (`up`).
 */
export class LegacyPeerLink extends Link {
  readonly #endpoint: RpcEndpoint;
  readonly #token: string;
  readonly #wiring: LegacyPeerWiring;
  readonly #pingInterval: number;
  readonly #pinger: NodeJS.Timeout;
  #probing = false;

  // A 0.3 node would take a neighbour list for a message and forward it to its own peers.
  protected override get carriesControl(): boolean {
    return false;
  }

  // Nor does it hold to berrymq's envelope limits (an identifier of any length goes).
  protected override get carriesEnvelopes(): boolean {
    return false;
  }

  constructor(url: string, token: string, wiring: LegacyPeerWiring, options: PeerLinkDefaults = {}) {
    const { timeout, maxAnswerSize, pingInterval, ...linkOptions } = options;
    const interval = checkTimerDelay("pingInterval", pingInterval ?? LEGACY_PROBE_INTERVAL);
    // Built (its url and options checked) before super(): a bad one throws before the link is on the bus.
    const endpoint = new RpcEndpoint(url, {
      ...(timeout === undefined ? {} : { timeout }),
      ...(maxAnswerSize === undefined ? {} : { maxAnswerSize }),
    });
    // One message per attempt: a retry never sends again what a 0.3 peer (no de-duplication) already took.
    super({ ...linkOptions, maxBatch: 1 });
    this.#endpoint = endpoint;
    this.#token = token;
    this.#wiring = wiring;
    this.#pingInterval = interval;
    this.remoteBusId = wiring.hop;
    this.start();
    this.#pinger = setInterval(this.#ping, interval);
    this.#pinger.unref();
  }

  // A quiet link's check of its peer (a link with messages on their way learns from them): no answer makes
  // it down. One at a time.
  readonly #ping = (): void => {
    if (this.#probing || this.isDown || this.backlog > 0 || this.closing) return;
    this.#probing = true;
    this.#probe().then(
      () => {
        this.#probing = false;
      },
      (error: unknown) => {
        this.#probing = false;
        if (this.backlog === 0) this.transportDown(error);
      },
    );
  };

  #probe(): Promise<void> {
    return probeLegacy(this.#endpoint, this.#token, Math.min(this.#pingInterval, this.#endpoint.timeout));
  }

  // A down link with nothing to send asks the peer the same question (see Link.probeTransport).
  protected override probeTransport(): Promise<unknown> {
    return this.#probe();
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
    clearInterval(this.#pinger);
    this.#endpoint.close();
  }
}
