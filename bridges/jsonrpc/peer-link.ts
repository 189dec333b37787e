import { randomBytes, randomUUID } from "node:crypto";
import { InvalidArgumentError, LinkLostError } from "../../lib/errors.js";
import { checkTimerDelay } from "../../lib/long-timer.js";
import type { Message } from "../../lib/message.js";
import { compactEnvelopesJson } from "../compact-envelope.js";
import { linkTableOf } from "../link-table.js";
import { type Envelope, envelopesJson } from "../envelope.js";
import { BridgeErrorCode } from "./error-codes.js";
import { BadResponseError, HttpStatusError, PeerServerClosedError, RemoteError, RpcFault, StreamClosedError } from "./errors.js";
import { HttpLink, type HttpLinkOptions, isLegacyServer, isTokenLost } from "./http-link.js";
import { legacyHop } from "./legacy-echo-filter.js";
import { probeLegacy } from "./legacy-probe.js";
import { reportOn } from "./legacy-sender.js";
import { type Deliverer, LinkStream, STREAM_OFFER, STREAM_PROTOCOL } from "./link-stream.js";
import { RESEND_WINDOW_MS, ResendWindow } from "./resend-window.js";
import { type RpcCarrier, reachedServer } from "./rpc-endpoint.js";

/** Where a peer link receives: the local bridge server the far side sends to. */
export interface PeerHost {
  /** URL the far side posts to, e.g. `http://127.0.0.1:7200/`. */
  readonly url: string;
  /** Routes `berrymq.send` calls carrying `token` to `link`. */
  attachPeer(token: string, link: PeerLink): void;
  /** Stops routing `token`. */
  detachPeer(token: string): void;
  /** Largest body the host takes, in bytes: also the largest frame its links take on a stream. */
  readonly maxBodySize?: number;
  /**
   * Answers a JSON-RPC body that came over a link stream as it answers a POST (tokens checked the same
   * way). A host without it keeps its links to POSTs.
   */
  answer?(payload: unknown, signal: AbortSignal): unknown;
  /**
   * Takes a batch that came over a version 2 link stream, sent with `token`, as `berrymq.sendAll` would:
   * checks it and returns what delivers its envelopes. A host without it takes version 1 streams only.
   */
  take?(token: string, envelopes: unknown[]): Deliverer;
  /** Whether the far server answered the stream's challenge `nonce` with a valid `proof` (see `peerProof`). */
  verifiesPeer?(nonce: string, proof: string | undefined): boolean;
}

/** Options of a {@link PeerLink}. */
export interface PeerLinkOptions extends HttpLinkOptions {
  /** The local bridge server the far side sends its messages to. */
  server: PeerHost;
  /**
   * How often the link checks (and keeps alive) its connection on the far server, in ms (default 2,000, or
   * half the `ttl` when that is less). With a `ttl` given, it must be less than it (InvalidArgumentError), and a
   * `ttl` of 1 ms or less, which no pingInterval fits in, is refused.
   */
  pingInterval?: number;
  /**
   * How long the link keeps the messages the far side acknowledged, in ms (default 10,000; 0 keeps none),
   * to send them again when it finds another process answering there (the far bus restarted): the far
   * process acknowledged them once its bus took them, and may have died before its own links forwarded
   * them. At most 10,000 messages and 16 Mi characters of their frames (oldest forgotten first); plain messages only, and only those
   * that went on the link stream. See the README.
   */
  resendWindow?: number;
}

/** How the server builds the far end of a link that a peer opened (internal). */
export interface AcceptedPeer {
  token: string;
  busId: string;
  /** Called when the peer that opened the link forgot it (it restarted): the server closes the link. */
  onLost(): void;
}

/**
 * berryMQ's style 01: links the local bus with a bus in another process, both ways. Messages dispatched on
 * one side (matching the export filters) are delivered on the other, each once even in rings and meshes;
 * the far side is opened with `berrymq.interconnect` and sends back through the local `server`. Messages
 * dispatched in one tick travel as one JSON-RPC batch request. While the far side is down the link
 * buffers and retries; when it comes back (even restarted) it reconnects and delivers them in order.
 * A far side lost for good (another process answers at its address, or it refused a connection and has
 * accepted none for longer than `ttl` and a ping) is reported as a LinkLostError, and the requests of this
 * bus that only it carried end (not those that also went out on another open link: see the README); one
 * only paused, busy or slow never is.
 * Against a berryMQ 0.3 server it falls back to 0.3's `interconnect` and `send_message`, so a berrymq
 * process can join an existing 0.3 deployment.
 * @example
 * const server = await serve({ bus });
 * const link = await PeerLink.connect("http://127.0.0.1:7201/", { bus, server });
 * bus.twitter("app:hello", "world"); // delivered on the far bus too
 * await link.close();
 * await server.close();
 */
export class PeerLink extends HttpLink {
  readonly #host: PeerHost | undefined;
  readonly #accepted: AcceptedPeer | undefined;
  readonly #linkToken: string;
  readonly #pingInterval: number;
  #pinger: NodeJS.Timeout | undefined;
  #closed = false;
  // The connection upgraded to a stream (see LinkStream), while it lasts; both ends of the link use it.
  #stream: LinkStream | undefined;
  #upgrading = false;
  // The far server did not upgrade (an older berrymq): asked again only after the next handshake.
  #noStream = false;
  // The batch on the stream (a link has one in flight) and what the Link is told of it: kept here so that
  // a batch makes no closure (see transmitWith).
  #streamBatch: Envelope[] = [];
  #batchSent: () => void = ignore;
  #batchFailed: (error: unknown) => void = ignore;
  readonly #onStreamFailed = (error: Error): void => this.#streamFailed(error);
  // The stream batch's size on the wire, and what tells the Link it was sent after keeping it (see #resent).
  #streamBytes = 0;
  readonly #onStreamSent = (): void => {
    this.#window.add(this.#streamBatch, this.#streamBytes);
    this.#batchSent();
  };
  readonly #window: ResendWindow;
  // Messages of the window to send again before anything else (the far bus restarted), until they went.
  #resendDue: Envelope[] = [];
  #resent = 0;
  // Requests that crossed to a far side that is gone for good can get no answer (see #lose). The link
  // that opened: the far bus's instance id from its last handshake (a new one, or none after one, means a
  // new process: the old one's followers are gone), since when it has accepted no connection after refusing
  // one (nothing listened on its port: a paused or busy process still accepts connections), and whether its
  // loss was told (once until it answers again).
  #farInstance: string | undefined;
  #refusedSince: number | undefined;
  #lost = false;
  // The local server closed under the link (see serverClosed): it can no longer receive.
  #serverClosed: PeerServerClosedError | undefined;
  // The local server's URL, taken while it listens (a closed server has none).
  #hostUrl = "";

  constructor(url: string | URL, options: PeerLinkOptions);
  /** @internal the server's end of a link a peer opened. */
  constructor(url: string | URL, options: HttpLinkOptions, accepted: AcceptedPeer);
  constructor(
    url: string | URL,
    options: HttpLinkOptions & { server?: PeerHost; pingInterval?: number; resendWindow?: number },
    accepted?: AcceptedPeer,
  ) {
    // Checked before super(): a bad option throws before the link is attached to the bus.
    const checked = checkPeerOptions(options, accepted);
    super(url, options);
    this.#pingInterval = checked.pingInterval;
    // Only a link this process opened handshakes again, and so meets a restarted far bus.
    this.#window = new ResendWindow(accepted === undefined ? checked.resendWindow : 0);
    if (accepted !== undefined) {
      this.#accepted = accepted;
      this.#linkToken = accepted.token;
      this.token = accepted.token;
      this.remoteBusId = accepted.busId;
    } else {
      this.#host = checked.server as PeerHost;
      this.#linkToken = randomUUID();
      try {
        this.#host.attachPeer(this.#linkToken, this);
        // After attachPeer: a closed server (no address) refuses that first, saying so.
        this.#hostUrl = this.#host.url;
      } catch (error) {
        // A closed server refuses it: nothing of the link stays on the bus.
        this.abandon();
        throw error;
      }
      this.#pinger = setInterval(() => void this.#ping(), this.#pingInterval);
      this.#pinger.unref();
    }
    this.start();
  }

  /**
   * Links to the bridge server at `url` and resolves once the far side has answered (so both directions
   * are open). Rejects, and releases everything, if it cannot reach it.
   */
  static async connect(url: string | URL, options: PeerLinkOptions): Promise<PeerLink> {
    const link = new PeerLink(url, options);
    try {
      await link.connected();
    } catch (error) {
      await link.close();
      throw link.#serverClosed ?? error;
    }
    // The server closed during the handshake: the far side would post to nothing.
    if (link.#serverClosed !== undefined) {
      await link.close();
      throw link.#serverClosed;
    }
    return link;
  }

  /**
   * @internal the local server closed (a link this process opened): the far side's messages have no way in
   * any more, so the link reports PeerServerClosedError and closes (flushing what it holds) rather than
   * look connected and receive nothing. Nothing once the link is closing.
   */
  serverClosed(): void {
    if (this.#host === undefined || this.#closed || this.closing || this.#serverClosed !== undefined) return;
    this.#serverClosed = new PeerServerClosedError(this.name, this.#hostUrl);
    reportOn(this, this.bus, this.#serverClosed);
    void this.close();
  }

  /** Id of the far bus, once known. */
  get farBusId(): string | undefined {
    return this.remoteBusId;
  }

  /** The far side's `0.3@host:port` hop when it is a berryMQ 0.3 node (undefined otherwise). */
  get legacyHop(): string | undefined {
    return this.legacy ? legacyHop(this.endpoint.url.hostname, this.endpoint.url.port || 80) : undefined;
  }

  /** Whether the link's batches go on a stream rather than as POSTs. */
  get streaming(): boolean {
    return this.#stream !== undefined && !this.#stream.closed;
  }

  /** The wire version of the link's stream while it streams (3, or 2 or 1 with an older berrymq), else undefined. */
  get streamVersion(): 1 | 2 | 3 | undefined {
    return this.streaming ? this.#stream?.version : undefined;
  }

  protected override get carrier(): RpcCarrier | undefined {
    return this.#stream;
  }

  // On a version 2 or 3 stream a batch is one numbered frame whose acknowledgement tells the Link directly
  // (no Promise a batch); anything else goes by `transmit` (POST, version 1, a frame too large). Version 3
  // carries the envelopes in the compact form.
  protected override transmitWith(batch: Envelope[], sent: () => void, failed: (error: unknown) => void): boolean {
    const stream = this.#stream;
    if (stream === undefined || stream.closed || stream.version === 1 || this.token === undefined || this.legacy) return false;
    if (batch.length === 0) return false;
    // Larger than the far server takes in one batch: `transmit` sends it in parts.
    const bound = this.batchBound;
    if (bound !== undefined && batch.length > bound) return false;
    this.#streamBatch = batch;
    this.#batchSent = sent;
    this.#batchFailed = failed;
    const json = stream.version === 3 ? compactEnvelopesJson(batch) : envelopesJson(batch);
    this.#streamBytes = json.length;
    return stream.sendEncodedBatchTo(json, this.endpoint.timeout, this.#onStreamSent, this.#onStreamFailed);
  }

  // What HttpLink does when a stream batch fails: closed under the batch, it goes again by the other ways
  // (a POST; the far side drops what it took by messageId), unless the link closed it, having reported the
  // batch undelivered; refused as a whole, the Link retries it, after a new handshake if the far server
  // lost the token.
  #streamFailed(error: Error): void {
    const failed = this.#batchFailed;
    if (error instanceof StreamClosedError && !this.closed) {
      this.transmit(this.#streamBatch).then(this.#onStreamSent, failed);
      return;
    }
    if (isTokenLost(error)) this.token = undefined;
    this.learnBatchBound(error, this.#streamBatch.length);
    failed(error);
  }

  /**
   * @internal the server hands the far end of a link the stream its peer opened (`open` builds it): its
   * batches then go there too. Refused (false) by a link this process opened, and once closing.
   */
  acceptStream(open: () => LinkStream): boolean {
    if (this.#accepted === undefined || this.#closed || this.closing) return false;
    this.#useStream(open());
    return true;
  }

  /** Takes an envelope the far side sent (the server calls this); see `Link.receive`. */
  accept(frame: unknown): number | undefined {
    this.#refusedSince = undefined;
    return this.receive(frame);
  }

  /** Takes a message the far side sent in the berryMQ 0.3 form, already rebuilt. */
  acceptMessage(message: Message): number | undefined {
    this.#refusedSince = undefined;
    return this.receiveMessage(message);
  }

  protected override async handshake(): Promise<string> {
    if (this.#accepted !== undefined) {
      // The peer that opened this link no longer knows it; only it can open a new one.
      setImmediate(this.#accepted.onLost);
      throw new RpcFault(
        BridgeErrorCode.InvalidToken,
        `link ${this.name}: the peer at ${this.endpoint.where} forgot token ${this.#linkToken}`,
      );
    }
    const host = this.#host as PeerHost;
    let result: unknown;
    try {
      result = await this.endpoint.call("berrymq.interconnect", {
        token: this.#linkToken,
        url: host.url,
        busId: this.bus.id,
        ttl: this.ttl,
      });
    } catch (error) {
      if (!isLegacyServer(error)) throw error;
      return this.#legacyHandshake(host);
    }
    const { busId, token, instance } = (result ?? {}) as { busId?: unknown; token?: unknown; instance?: unknown };
    if (typeof busId !== "string" || busId === "")
      throw new BadResponseError(this.endpoint.where, result, '{"busId": "<far bus id>"}');
    // Another instance id: another process (or bus) answers there now, and the one that took the requests
    // is gone. The same one (it only dropped the token, after its ttl) may still answer them. None after
    // one was known: an older berrymq server answers there now, another process too. An older server tells
    // none, so its own restarts are not told by the handshake.
    const known = this.#farInstance;
    const now = typeof instance === "string" && instance !== "" ? instance : undefined;
    if (known !== undefined && now !== known) {
      this.#lose(
        `another process answers at its address now (${now === undefined ? "an older berrymq server, telling no instance" : "the far bus restarted"})`,
      );
      // What the process that died there had taken, maybe not forwarded: it goes again, ahead of the rest;
      // only if it linked beyond this bus (announced so): one that did not forwarded nothing, and its new
      // process's followers would only get again what the dead one's had.
      const kept = this.#window.take();
      const far = this.remoteBusId;
      if (far !== undefined && linkTableOf(this.bus).linksBeyond(far, this.bus.id))
        this.#resendDue = this.#resendDue.concat(kept);
    }
    this.#farInstance = now;
    this.remoteBusId = busId;
    this.legacy = false;
    this.#answered();
    // The far server issues the token we send with; one that does not (older berrymq) takes ours.
    const sendWith = typeof token === "string" && token !== "" ? token : this.#linkToken;
    // Before anything else goes with this token: a failure fails the handshake, retried with the rest due.
    if (this.#resendDue.length > 0) await this.#resend(sendWith);
    this.#noStream = false;
    void this.#upgrade(sendWith);
    return sendWith;
  }

  /** Messages sent again to a restarted far bus, out of the resend window (see `resendWindow`). */
  get resent(): number {
    return this.#resent;
  }

  // Sends the messages due again as `berrymq.sendAll` POSTs, in order, in parts the far server takes (halved
  // when it refuses one as too large); the far bus drops those it has by messageId.
  async #resend(token: string): Promise<void> {
    let size = RESEND_PART;
    while (this.#resendDue.length > 0 && !this.#closed) {
      const part = this.#resendDue.slice(0, size);
      try {
        await this.endpoint.call("berrymq.sendAll", { token, envelopes: part });
      } catch (error) {
        const tooLarge =
          (error instanceof HttpStatusError && error.status === 413) ||
          (error instanceof RemoteError && error.rpcCode === BridgeErrorCode.LimitExceeded);
        if (!tooLarge) throw error;
        if (part.length > 1) {
          size = Math.ceil(part.length / 2);
          continue;
        }
        // One alone the new far server refuses: it went once already, to the process that died.
        this.#resendDue.shift();
        continue;
      }
      this.#resendDue.splice(0, part.length);
      this.#resent += part.length;
    }
  }

  // Asks the far server to upgrade a connection to a stream for this link; batches go as POSTs meanwhile
  // (and whenever there is no stream). Only the side that opened the link asks: the far end is handed it.
  async #upgrade(token: string): Promise<void> {
    const host = this.#host;
    if (host?.answer === undefined || this.#closed || this.#noStream || this.#upgrading || this.streaming) return;
    const maxFrame = host.maxBodySize ?? 1024 * 1024;
    this.#upgrading = true;
    try {
      const nonce = randomBytes(16).toString("hex");
      // Version 2 where the host can take its batches; a server that knows only version 1 (an older
      // berrymq) answers that offer 400, and is asked again for version 1 alone.
      const take = host.take === undefined ? undefined : host.take.bind(host);
      let upgraded = await this.endpoint.upgrade(token, maxFrame, nonce, take === undefined ? STREAM_PROTOCOL : STREAM_OFFER);
      if (upgraded.socket === undefined && upgraded.status === 400 && take !== undefined && !this.#closed) {
        upgraded = await this.endpoint.upgrade(token, maxFrame, nonce, STREAM_PROTOCOL);
      }
      // No stream, or one whose far side could not show it may send here (no peerSecret for this server).
      if (upgraded.socket === undefined || host.verifiesPeer?.(nonce, upgraded.proof) === false) {
        upgraded.socket?.destroy();
        // Not for a token a new handshake replaced meanwhile (a restarted far server refuses the old one):
        // that handshake's own upgrade, skipped while this one ran, is asked for at the next ping.
        if (this.token === token) this.#noStream = true;
        return;
      }
      // The far end's batches were sent with the token it was given in the handshake: this link's own.
      const linkToken = this.#linkToken;
      const stream = new LinkStream(upgraded.socket, upgraded.head, {
        name: this.name,
        maxFrame,
        farMaxFrame: upgraded.farMaxFrame,
        answer: (payload, signal) => host.answer?.(payload, signal) ?? null,
        version: upgraded.version,
        ...(take === undefined ? {} : { take: (envelopes: unknown[]) => take(linkToken, envelopes) }),
      });
      if (this.#closed) stream.close("link closed");
      else this.#useStream(stream);
    } catch {
      // Unreachable for now: the next ping asks again.
    } finally {
      this.#upgrading = false;
    }
  }

  #useStream(stream: LinkStream): void {
    this.#stream?.close("replaced by a new stream");
    this.#stream = stream;
    stream.onRefused = (error) => this.refusedOnStream(error);
    stream.onClose(() => {
      if (this.#stream === stream) this.#stream = undefined;
    });
  }

  // berryMQ 0.3: `interconnect([host, port], token, ttl)`; both sides then send with our token.
  async #legacyHandshake(host: PeerHost): Promise<string> {
    const own = new URL(host.url);
    const port = Number(own.port || 80);
    const hostname = own.hostname.startsWith("[") ? own.hostname.slice(1, -1) : own.hostname;
    await this.endpoint.legacyCall("interconnect", [[hostname, port], this.#linkToken, this.ttl]);
    // A berryMQ 0.3 server where a current one told its instance: another process (see handshake).
    if (this.#farInstance !== undefined) this.#lose("another process answers at its address now (a berryMQ 0.3 server)");
    this.#farInstance = undefined;
    this.legacy = true;
    this.remoteBusId = this.legacyHop;
    return this.#linkToken;
  }

  protected override async closeTransport(): Promise<void> {
    this.#closed = true;
    if (this.#pinger !== undefined) clearInterval(this.#pinger);
    if (this.#host !== undefined) {
      this.#host.detachPeer(this.#linkToken);
      // Best effort: lets the far server close its end now rather than at ttl expiry.
      if (this.token !== undefined && !this.legacy)
        await this.endpoint.call("berrymq.close", { token: this.token }, 500).catch(() => undefined);
    }
    this.#stream?.close("link closed");
    await super.closeTransport();
  }

  // Keeps the far end alive, and notices a restarted far side even while nothing is being sent.
  async #ping(): Promise<void> {
    if (this.#closed) return;
    let pinging = false;
    try {
      if (this.token === undefined) await this.connected();
      // berryMQ 0.3 has no ping (its connection lives as long as messages go): a quiet link probes it.
      else if (this.legacy) await this.#probeLegacyQuiet(this.token);
      else {
        const token = this.token;
        pinging = true;
        await this.endpoint.call("berrymq.ping", { token }, this.#pingInterval);
        pinging = false;
        this.#answered();
        if (!this.streaming) await this.#upgrade(token);
      }
    } catch (error) {
      // An unreachable far side is tried again at the next ping (and by sends); a lost token reconnects, and
      // so does a ping answered as a berryMQ 0.3 server answers (every berrymq server knows berrymq.ping):
      // a 0.3 node is at the far side's address now, which the handshake tells (see #legacyHandshake).
      if (!(isTokenLost(error) || (pinging && isLegacyServer(error))) || this.#closed) {
        if (!this.#closed) this.#unreachable(error);
        return;
      }
      this.token = undefined;
      await this.connected().catch(() => undefined);
    }
  }

  // A quiet link to a berryMQ 0.3 server asks it `get_nowait` (see probeLegacy): no answer makes it down at
  // once (it stayed up until its bus sent), and it asks again until the server answers (probeTransport).
  async #probeLegacyQuiet(token: string): Promise<void> {
    if (this.backlog > 0 || this.isDown) return;
    try {
      await probeLegacy(this.endpoint, token, Math.min(this.#pingInterval, this.endpoint.timeout));
    } catch (error) {
      if (this.backlog === 0 && !this.#closed) this.transportDown(error);
    }
  }

  // A down link with nothing to send: one to a berryMQ 0.3 server (no neighbour lists to probe with) asks it
  // as its pings do; a berrymq one has none (its neighbour list, or a frame, tells `up`).
  protected override probeTransport(): Promise<unknown> | undefined {
    const token = this.token;
    if (!this.legacy || token === undefined) return undefined;
    return probeLegacy(this.endpoint, token, Math.min(this.#pingInterval, this.endpoint.timeout));
  }

  #answered(): void {
    this.#refusedSince = undefined;
    this.#lost = false;
  }

  // Nothing listening at the far side's address, and nothing accepting a connection there since, for longer
  // than the link's ttl and a ping: the process that took the requests is gone (killed, or its server
  // closed), and a far server that were only out of reach has dropped the link by then. Only a refused
  // connection starts that span: a process paused (SIGSTOP) or too busy to answer still accepts connections
  // (its calls time out), and may answer the requests yet. An answer ends the span, even an error, and so
  // does a call whose connection was established, even if it then timed out or was reset (something
  // listened there). A call that failed before its connection was established neither starts nor ends it
  // (a loaded machine times out calls to a closed port too, before the refusal is seen).
  // The far server's default ttl (0) is unknown here: then nothing is decided.
  #unreachable(error: unknown): void {
    if (
      error instanceof RemoteError ||
      error instanceof HttpStatusError ||
      error instanceof BadResponseError ||
      reachedServer(error)
    ) {
      this.#refusedSince = undefined;
      return;
    }
    const now = performance.now();
    if (isRefused(error)) this.#refusedSince ??= now;
    if (this.#refusedSince === undefined || this.#lost || this.ttl <= 0 || this.legacy || this.remoteBusId === undefined) return;
    const refused = now - this.#refusedSince;
    if (refused <= this.ttl * 1000 + this.#pingInterval) return;
    this.#lose(
      `its address refused connections, and nothing accepted one there for ${Math.round(refused)} ms, past its ttl (${this.ttl} s)`,
      error,
    );
  }

  // Tells the Link its far side is gone for good (once until it answers again): the requests of this
  // bus it carried, which nothing else could answer, end (see Link.farSideLost).
  #lose(reason: string, cause?: unknown): void {
    if (this.#lost || this.#closed) return;
    this.#lost = true;
    this.farSideLost(new LinkLostError(this.name, this.remoteBusId, reason, cause));
  }
}

// Pings well within the ttl the far server keeps an idle token for (seconds; 0: its default, unknown).
// A PeerLink's own options, checked before its super(): its pingInterval, and the server a link it opens needs.
function checkPeerOptions(
  options: HttpLinkOptions & { server?: PeerHost; pingInterval?: number; resendWindow?: number },
  accepted: AcceptedPeer | undefined,
): { pingInterval: number; server: PeerHost | undefined; resendWindow: number } {
  const ttl = options.ttl ?? 300;
  // Pings go at least 1 ms apart and less than the ttl: no pingInterval fits in a ttl of 1 ms or less.
  if (accepted === undefined && options.ttl !== undefined && ttl > 0 && ttl * 1000 <= 1)
    throw new InvalidArgumentError(
      "ttl",
      options.ttl,
      "more than 0.001 s (1 ms) for a peer link: its pings, at least 1 ms apart, must be less than it",
    );
  const pingInterval = checkTimerDelay("pingInterval", options.pingInterval ?? defaultPingInterval(ttl));
  // Pings further apart than the far server keeps an idle token: it expires between them, with the link
  // back that carries the far side's messages (reopened only by the next handshake). Refused when both
  // were chosen; the default ttl (300 s) takes any pingInterval, as before.
  if (accepted === undefined && options.ttl !== undefined && ttl > 0 && pingInterval >= ttl * 1000)
    throw new InvalidArgumentError("pingInterval", options.pingInterval, `less than the ttl (${ttl} s), in ms`);
  if (accepted === undefined && options.server === undefined)
    throw new InvalidArgumentError("server", options.server, "the local BridgeServer the far side sends to");
  const resendWindow = options.resendWindow ?? RESEND_WINDOW_MS;
  if (typeof resendWindow !== "number" || !Number.isFinite(resendWindow) || resendWindow < 0)
    throw new InvalidArgumentError("resendWindow", options.resendWindow, "ms >= 0 (0 keeps nothing to send again)");
  return { pingInterval, server: options.server, resendWindow };
}

// Most messages of one resend POST (the far server's maxBatch is 1,000 by default).
const RESEND_PART = 500;

function defaultPingInterval(ttl: number): number {
  return ttl > 0 ? Math.max(1, Math.min(2_000, Math.floor(ttl * 500))) : 2_000;
}

// Whether a call failed because nothing listens at the address (the connection was refused, on each of
// its addresses when the host name has several).
function isRefused(error: unknown): boolean {
  const { code, errors } = (error ?? {}) as { code?: unknown; errors?: unknown };
  if (code === "ECONNREFUSED") return true;
  return Array.isArray(errors) && errors.length > 0 && errors.every(isRefused);
}

// What a batch's callbacks are before the first batch.
function ignore(): void {}
