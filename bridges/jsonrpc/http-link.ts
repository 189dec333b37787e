import { type Envelope, envelopesJson } from "../envelope.js";
import { NEIGHBOURS_ID } from "../../lib/reserved.js";
import { Link, type LinkOptions } from "../link.js";
import { BridgeErrorCode } from "./error-codes.js";
import { BadResponseError, EndpointClosedError, HttpStatusError, RemoteError, StreamClosedError } from "./errors.js";
import { LegacyEchoFilter } from "./legacy-echo-filter.js";
import { reportOn, sendLegacy } from "./legacy-sender.js";
import { type EncodedCall, type RpcCarrier, RpcEndpoint, type RpcEndpointOptions, type RpcOutcome } from "./rpc-endpoint.js";

/** Options of the links that send to a bridge server over HTTP. */
export interface HttpLinkOptions extends LinkOptions, RpcEndpointOptions {
  /** Idle seconds after which the server may drop the connection (default 300; 0 = the server's defaultTtl: every token expires). */
  ttl?: number;
}

/** Whether a remote error means the server no longer knows our token (restarted, expired, closed). */
export function isTokenLost(error: unknown): boolean {
  return (
    error instanceof RemoteError &&
    (error.rpcCode === BridgeErrorCode.InvalidToken || error.rpcCode === BridgeErrorCode.TokenExpired)
  );
}

/**
 * Whether a call to a `berrymq.*` method failed because the server speaks only berryMQ 0.3: it answers
 * method-not-found (-32601), or an error without a numeric code, as 0.3's Python server does.
 */
export function isLegacyServer(error: unknown): boolean {
  return error instanceof RemoteError && (error.rpcCode === BridgeErrorCode.MethodNotFound || error.rpcCode === 0);
}

/** Window in ms within which an echo of a berryMQ 0.3 server is recognised on the client side. */
export const CLIENT_ECHO_WINDOW = 2_000;

/**
 * A link that sends to a bridge server: each batch of envelopes goes as ONE JSON-RPC 2.0 batch request of
 * `berrymq.send` calls. It opens its connection lazily (`handshake`) and again whenever the server has
 * lost the token, so a restarted server gets the buffered messages, in order. Against a berryMQ 0.3
 * server (no `berrymq.*` methods) the handshake falls back to 0.3's methods and messages go one
 * `send_message` call each.
 */
export abstract class HttpLink extends Link {
  protected readonly endpoint: RpcEndpoint;
  protected readonly ttl: number;
  protected token: string | undefined;
  #legacy = false;
  #connecting: Promise<string> | undefined;
  // The smallest body size (bytes) the far side is known to refuse (HTTP 413); none until one was refused.
  #tooLarge: number | undefined;
  // The most envelopes the far server takes in one batch, once it refused a batch as larger than its
  // maxBatch (LimitExceeded); none until then. The Link's batch is then sent in parts of at most that many.
  #batchBound: number | undefined;

  constructor(url: string | URL, options: HttpLinkOptions = {}) {
    // Built (its url and options checked) before super(): a bad one throws before the link is on the bus.
    const endpoint = new RpcEndpoint(url, options);
    super(options);
    this.endpoint = endpoint;
    this.ttl = options.ttl ?? 300;
  }

  /** Opens the connection on the server; resolves to the token to send with. */
  protected abstract handshake(): Promise<string>;

  /** Whether the handshake found a berryMQ 0.3 server: messages then go as 0.3 `send_message` calls. */
  protected get legacy(): boolean {
    return this.#legacy;
  }

  protected set legacy(legacy: boolean) {
    // The bus's echo filter starts with its first 0.3 peer.
    if (legacy) LegacyEchoFilter.of(this.bus, CLIENT_ECHO_WINDOW);
    this.#legacy = legacy;
  }

  // A berryMQ 0.3 server takes an identifier of any length, and no hops (berrymq's envelope limits aside).
  protected override get carriesEnvelopes(): boolean {
    return !this.#legacy;
  }

  // Nor neighbour lists: a 0.3 node would take one for a message, give it to its followers and forward it
  // to its peers (before r29 a PeerLink that found a 0.3 server sent it every list it announced).
  protected override get carriesControl(): boolean {
    return !this.#legacy;
  }

  /** Where batches go instead of a POST when it takes them (a peer link's stream); none by default. */
  protected get carrier(): RpcCarrier | undefined {
    return undefined;
  }

  /** Resolves once the server has accepted the connection (one handshake at a time). */
  async connected(): Promise<void> {
    await this.#token();
  }

  /**
   * The most envelopes the far server was found to take in one batch (its `maxBatch`, learnt from its
   * refusal of a larger one), or undefined: a larger batch goes by `transmit`, in parts.
   */
  protected get batchBound(): number | undefined {
    return this.#batchBound;
  }

  protected override transmit(batch: Envelope[]): Promise<unknown> {
    const bound = this.#batchBound;
    if (bound !== undefined && batch.length > bound && !this.#legacy) return this.#inParts(batch, bound);
    // The hot path: connected, and a version 2 stream takes the batch (no promise but the stream's).
    const token = this.token;
    if (token !== undefined && !this.#legacy) {
      const sent = this.#sendBatch(batch, token);
      if (sent !== undefined) return sent;
    }
    return this.#transmit(batch);
  }

  // A batch larger than the far server takes: sent in parts of `bound` envelopes, in order, each taken out of
  // the Link's batch in flight once acknowledged (a retry after a failed part sends only the rest).
  async #inParts(batch: Envelope[], bound: number): Promise<void> {
    for (let start = 0; start < batch.length; start += bound) {
      const part = batch.slice(start, start + bound);
      const token = await this.#token();
      await (this.#sendBatch(part, token) ?? this.#send(part, token));
      this.partSent(part);
    }
  }

  /**
   * Learns the far server's bound on envelopes a batch from its refusal of a batch of `size` (LimitExceeded,
   * "at most N (the maxBatch option)"; half the batch when it names no number): the batch, retried by the
   * Link, then goes in parts. Without it a batch larger than the far server's maxBatch was refused at every
   * retry, for ever, and everything behind it waited. Nothing for any other error.
   */
  protected learnBatchBound(error: unknown, size: number): void {
    if (!(error instanceof RemoteError) || error.rpcCode !== BridgeErrorCode.LimitExceeded || size <= 1) return;
    const said = /at most (\d+) \(the maxBatch option\)/.exec(error.message);
    const stated = said === null ? Math.ceil(size / 2) : Number(said[1]);
    // Below the size refused, whatever the far side says (or it would be refused again), and at least 1.
    const bound = Math.max(1, Math.min(Number.isSafeInteger(stated) ? stated : 1, size - 1));
    if (this.#batchBound === undefined || bound < this.#batchBound) this.#batchBound = bound;
  }

  async #transmit(batch: Envelope[]): Promise<void> {
    const token = await this.#token();
    if (!this.legacy) return this.#send(batch, token);
    // The batch was built before this handshake found a 0.3 server: a neighbour list in it (announced, or a
    // down link's probe) stays here, taken as sent.
    if (batch.some(isNeighbourList)) batch = batch.filter((envelope) => !isNeighbourList(envelope));
    await sendLegacy(
      {
        name: this.name,
        endpoint: this.endpoint,
        token,
        skip: (error) => {
          this.stats.dropped++;
          reportOn(this, this.bus, error);
        },
        lost: () => {
          this.token = undefined;
        },
        answered: (envelope, taken) => this.partSent([envelope], taken),
      },
      batch,
    );
  }

  #token(): Promise<string> {
    if (this.token !== undefined) return Promise.resolve(this.token);
    this.#connecting ??= this.handshake().then(
      (token) => {
        // A new token may be a new far side, with another body limit and maxBatch.
        this.#tooLarge = undefined;
        this.#batchBound = undefined;
        this.token = token;
        this.#connecting = undefined;
        return token;
      },
      (error: unknown) => {
        this.#connecting = undefined;
        throw error;
      },
    );
    return this.#connecting;
  }

  protected override async closeTransport(): Promise<void> {
    this.endpoint.close();
  }

  // Over a version 2 stream a batch is one numbered frame, acknowledged by number. `undefined` when there
  // is no such stream or it cannot take the batch (too large): it then goes by the other ways.
  #sendBatch(batch: Envelope[], token: string): Promise<unknown> | undefined {
    const carrier = this.carrier;
    if (carrier?.sendEncodedBatch === undefined) return undefined;
    if (batch.length === 0) return Promise.resolve();
    const sent = carrier.sendEncodedBatch(envelopesJson(batch), this.endpoint.timeout, (error) => {
      // The stream closed under the batch: it goes again as a POST (the far side drops what it took);
      // unless the link closed it, having reported the batch undelivered.
      if (error instanceof StreamClosedError && !this.closed) return this.#send(batch, token);
      // Refused as a whole (the stream closed itself): retried by the Link, after a new handshake if the
      // far server lost the token.
      if (isTokenLost(error)) this.token = undefined;
      this.learnBatchBound(error, batch.length);
      throw error;
    });
    return sent;
  }

  /** An envelope the far side refused (as invalid) on a link stream: counted and reported, never retried. */
  protected refusedOnStream(error: { code: number; message: string; data?: unknown }): void {
    this.#refused(new RemoteError("berrymq.sendAll", error.code, error.message, error.data));
  }

  // `part`: one of the parts of a batch split after an HTTP 413, taken out of the Link's batch in flight
  // once the far side acknowledged it (see Link.partSent).
  async #send(batch: Envelope[], token: string, part = false): Promise<void> {
    if (batch.length === 0) return;
    const carrier = this.carrier;
    if (carrier !== undefined && (await this.#sendAll(batch, token, carrier))) {
      if (part) this.partSent(batch);
      return;
    }
    // Closed past its flush (the stream closed under the batch as the link closed): the batch is reported
    // undelivered, and a POST now would deliver it after all, past the close deadline.
    if (this.closed) throw new EndpointClosedError(this.endpoint.where);
    // Once the far side refused a body (413), bodies are cut to fit below the bound learned (#fitted).
    if (this.#tooLarge !== undefined) return this.#fitted(batch, token, part, this.#tooLarge);
    let outcomes: RpcOutcome[];
    try {
      outcomes = await this.endpoint.batch(batch.map((envelope) => ({ method: "berrymq.send", params: { token, envelope } })));
    } catch (error) {
      if (error instanceof HttpStatusError && error.status === 413) return this.#refusedBody(batch, token, error);
      this.learnBatchBound(error, batch.length);
      throw error;
    }
    this.#outcomes(outcomes);
    if (part) this.partSent(batch);
  }

  // A body the far side refused as too large (413): the bound is lowered; one message alone cannot go at
  // all, and the halves of several go separately (each cut to fit the new bound).
  async #refusedBody(batch: Envelope[], token: string, error: HttpStatusError): Promise<void> {
    this.#lowerBound(error);
    // Dropped like any message the link cannot carry: an answer's asker gets an error answer.
    if (batch.length === 1) return this.#tooLargeAlone(batch[0] as Envelope, error.message);
    const half = Math.ceil(batch.length / 2);
    await this.#send(batch.slice(0, half), token, true);
    await this.#send(batch.slice(half), token, true);
  }

  // A 413 for a body of B bytes proves the far limit is below B; our server also says its limit in the
  // answer ("request body larger than N bytes"), a tighter bound it is taken at its word for.
  #lowerBound(error: HttpStatusError): void {
    let bound = error.requestBytes;
    const said = /request body larger than (\d+) bytes/.exec(error.message);
    if (said !== null) {
      const stated = Number(said[1]) + 1;
      if (Number.isSafeInteger(stated) && (bound === undefined || stated < bound)) bound = stated;
    }
    // Never below a floor: a server that said "larger than 1 bytes" made the link drop every message until
    // its next handshake (bodies under the floor that are still refused are halved as before).
    if (bound !== undefined) bound = Math.max(bound, MIN_BODY_BOUND);
    if (bound !== undefined && (this.#tooLarge === undefined || bound < this.#tooLarge)) this.#tooLarge = bound;
  }

  #tooLargeAlone(envelope: Envelope, why: string): void {
    this.refusedForGood(envelope.messageId, new RemoteError("berrymq.send", BridgeErrorCode.PayloadTooLarge, why));
  }

  // The far side is known to refuse bodies of `bound` bytes or more: each message whose body alone would be
  // that large is refused at once (never posted), and the others go in order, in bodies each below it.
  async #fitted(batch: Envelope[], token: string, part: boolean, bound: number): Promise<void> {
    const calls = this.endpoint.encodeCalls(batch.map((envelope) => ({ method: "berrymq.send", params: { token, envelope } })));
    const kept: Envelope[] = [];
    const keptCalls: EncodedCall[] = [];
    const sizes: number[] = [];
    for (let i = 0; i < calls.length; i++) {
      const size = Buffer.byteLength((calls[i] as EncodedCall).json);
      if (size + 2 >= bound) {
        this.#tooLargeAlone(
          batch[i] as Envelope,
          `a message of ${size + 2} bytes or more, over the far side's body limit (below ${bound} bytes)`,
        );
        continue;
      }
      kept.push(batch[i] as Envelope);
      keptCalls.push(calls[i] as EncodedCall);
      sizes.push(size);
    }
    let start = 0;
    while (start < kept.length) {
      // "[" + calls joined by "," + "]"
      let end = start + 1;
      let body = 2 + (sizes[start] as number);
      while (end < kept.length && body + 1 + (sizes[end] as number) < bound) body += 1 + (sizes[end++] as number);
      const envelopes = kept.slice(start, end);
      let outcomes: RpcOutcome[];
      try {
        outcomes = await this.endpoint.batchEncoded(keptCalls.slice(start, end));
      } catch (error) {
        if (error instanceof HttpStatusError && error.status === 413) await this.#refusedBody(envelopes, token, error);
        else {
          this.learnBatchBound(error, envelopes.length);
          throw error;
        }
        start = end;
        continue;
      }
      this.#outcomes(outcomes);
      // A part of the Link's batch in flight unless it is that batch whole.
      if (part || start > 0 || end < kept.length || kept.length < batch.length) this.partSent(envelopes);
      start = end;
    }
  }

  #outcomes(outcomes: readonly RpcOutcome[]): void {
    for (const outcome of outcomes) {
      if (outcome.ok) continue;
      if (isTokenLost(outcome.error)) {
        // Thrown so the Link base keeps the batch and retries it after a new handshake; the far bus drops
        // the ones it already took by their messageId.
        this.token = undefined;
        throw outcome.error;
      }
      this.#refused(outcome.error);
    }
  }

  // Over a link stream a batch is one `berrymq.sendAll` call (a third of the bytes of as many `berrymq.send`
  // calls, and one answer). False when the stream cannot take it: the batch then goes as a POST.
  async #sendAll(batch: Envelope[], token: string, carrier: RpcCarrier): Promise<boolean> {
    const outcome = await this.endpoint.callOver(carrier, "berrymq.sendAll", { token, envelopes: batch });
    if (outcome === undefined) return false;
    if (!outcome.ok) {
      // Thrown so the Link base keeps the batch and retries it (after a new handshake if the token was lost).
      if (isTokenLost(outcome.error)) this.token = undefined;
      this.learnBatchBound(outcome.error, batch.length);
      throw outcome.error;
    }
    const results = outcome.result;
    if (!Array.isArray(results) || results.length !== batch.length) {
      throw new BadResponseError(this.endpoint.where, results, `an array of ${batch.length} results`);
    }
    for (const result of results) {
      const error = (result as { error?: { code?: unknown; message?: unknown; data?: unknown } } | null)?.error;
      if (error === undefined) continue;
      const code = typeof error.code === "number" ? error.code : 0;
      this.#refused(
        new RemoteError("berrymq.sendAll", code, typeof error.message === "string" ? error.message : "(no message)", error.data),
      );
    }
    return true;
  }

  // The server refused a message as invalid: retrying cannot help, so it is counted and reported.
  #refused(error: RemoteError): void {
    this.stats.dropped++;
    reportOn(this, this.bus, error);
  }
}

// The lowest body bound a link learns from 413 answers, in bytes.
const MIN_BODY_BOUND = 1_024;

function isNeighbourList(envelope: Envelope): boolean {
  return envelope.id === NEIGHBOURS_ID;
}
