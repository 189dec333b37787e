import { createHmac } from "node:crypto";
import type { Socket } from "node:net";
import { StringDecoder } from "node:string_decoder";
import { anySignal } from "../../lib/abort-watch.js";
import { isPlainObject } from "../../lib/kwargs.js";
import { RESOLVED } from "../../lib/resolved.js";
import { fromCompactEnvelope } from "../compact-envelope.js";
import { RemoteError, StreamClosedError } from "./errors.js";
import { parseExactJson } from "./exact-json.js";
import { toRpcError } from "./fault.js";

/**
 * The first `Upgrade` protocol of link streams (see {@link LinkStream}): JSON-RPC bodies, each answered.
 * What berrymq peers before version 2 of the stream ask for and take.
 */
export const STREAM_PROTOCOL = "berrymq-link/1";
/** Version 2 of the stream: a link's batches numbered, acknowledged by number (see {@link LinkStream}). */
export const STREAM_PROTOCOL_2 = "berrymq-link/2";
/**
 * Version 3: version 2's frames, the envelopes of batches in the compact form (`bridges/compact-envelope.ts`,
 * ~40 % fewer bytes to write and parse for a request or an answer).
 */
export const STREAM_PROTOCOL_3 = "berrymq-link/3";
/** What an opener offers in its `Upgrade` header, most preferred first (a server takes the newest it knows). */
export const STREAM_OFFER = `${STREAM_PROTOCOL_3}, ${STREAM_PROTOCOL_2}, ${STREAM_PROTOCOL}`;

/** The stream versions this side speaks. */
export type StreamVersion = 1 | 2 | 3;

/** The newest stream version an `Upgrade` header offers that this side speaks, or undefined (none). */
export function streamVersionOf(upgrade: string | undefined): StreamVersion | undefined {
  if (upgrade === undefined) return undefined;
  let found: StreamVersion | undefined;
  for (const part of upgrade.split(",")) {
    const protocol = part.trim().toLowerCase();
    const version =
      protocol === STREAM_PROTOCOL_3 ? 3 : protocol === STREAM_PROTOCOL_2 ? 2 : protocol === STREAM_PROTOCOL ? 1 : undefined;
    if (version !== undefined && (found === undefined || version > found)) found = version;
  }
  return found;
}

/** The protocol name of a stream version. */
export function streamProtocolOf(version: StreamVersion): string {
  return version === 3 ? STREAM_PROTOCOL_3 : version === 2 ? STREAM_PROTOCOL_2 : STREAM_PROTOCOL;
}
/** Header carrying the token the stream's opener sends with (the far server issued it). */
export const STREAM_TOKEN_HEADER = "berrymq-token";
/** Header in which each side of an upgrade states the largest frame it takes, in bytes. */
export const STREAM_FRAME_HEADER = "berrymq-max-frame";

/** Header of the opener's random challenge, and of the server's answer to it (see {@link peerProof}). */
export const STREAM_NONCE_HEADER = "berrymq-nonce";
export const STREAM_PROOF_HEADER = "berrymq-proof";

/**
 * What a server answers to an upgrade's challenge to show it holds the opener's server secret (the secret
 * its links back would send in POSTs, its `peerSecret`) without sending it: HMAC-SHA256 of the nonce
 * keyed with the secret's SHA-256. Frames the far side writes on the stream stand for its POSTs, so an
 * opener whose server has a secret takes them only with this proof.
 */
export function peerProof(secretDigest: Buffer, nonce: string): string {
  return createHmac("sha256", secretDigest).update(nonce).digest("hex");
}

/** What a stream needs of its owner. */
export interface LinkStreamOptions {
  /** Name used in errors. */
  name: string;
  /** Largest frame this side takes, in bytes (the bridge server's maxBodySize); a larger one closes the stream. */
  maxFrame: number;
  /**
   * Largest frame the far side takes: larger bodies are not sent here (`carries` says no). Counted at most
   * as `maxFrame`: it is the far side's claim (its `berrymq-max-frame` header), and this side's write
   * buffer is bounded by the larger frame either side sends (see `#write1`), so a claim above this side's
   * own limit must not raise it; a larger body goes as a POST.
   */
  farMaxFrame: number;
  /**
   * Answers a request frame as the bridge server answers a POST body (null: nothing to answer); `signal`
   * ends what waits (long-polls) once the stream closes, as a client hanging up ends a POST's.
   */
  answer(payload: unknown, signal: AbortSignal): unknown;
  /** Also ends what waits (the server closing). */
  signal?: AbortSignal;
  /** The wire: 1 (JSON-RPC bodies, the default) or 2 (numbered batches and acknowledgements). */
  version?: StreamVersion;
  /**
   * Version 2: takes a batch the far side's link sent, as `berrymq.sendAll` would: checks it as a whole
   * (throws when it refuses it: a lost token, more envelopes than it takes) and returns what delivers its
   * envelopes `start` to `end` (one result per envelope, `{error}` for one refused), which may be called
   * after the stream closed. Without it a version 2 stream takes no batches (it closes on one).
   */
  take?(envelopes: unknown[]): Deliverer;
}

/** Delivers envelopes `start` to `end` of a batch a link stream took; one result per envelope. */
export type Deliverer = (start: number, end: number) => readonly unknown[];

/** A JSON-RPC error object as it travels in a version 2 frame. */
export interface WireError {
  code: number;
  message: string;
  data?: unknown;
}

/**
 * Envelopes of one batch of requests or answers delivered in one turn of the event loop; a larger one is
 * delivered in parts, one per turn, so that the answers to its first requests leave (and the requests
 * its first answers make room for) while this side delivers the rest. Other batches go in one part.
 */
export const DELIVERY_PART = 16;
/**
 * Ms without a write on the stream after which a side delivering a batch in parts writes its last
 * acknowledgement again (`{"a": n}`, a no-op for the far side): the far side's acknowledgement timeout
 * counts from the last bytes it received, so a batch that takes long to deliver does not cut the stream.
 */
export const STREAM_LIVENESS_MS = 100;
/** Most batches that may wait to be delivered; one more closes the stream. */
export const STREAM_MAX_WAITING_BATCHES = 64;

// A batch taken from the far side, being delivered (in parts) or waiting to be.
interface Delivery {
  readonly seq: number;
  readonly length: number;
  readonly deliver: Deliverer;
  /** Envelopes delivered per turn: DELIVERY_PART for requests and answers, else all at once. */
  readonly part: number;
  done: number;
}

// A batch sent on a version 2 stream and not yet acknowledged.
interface Unacked {
  readonly seq: number;
  readonly sentAt: number;
  readonly timeout: number;
  /** Set by the stream's one Promise executor, right after the record is made. */
  resolve: (value?: unknown) => void;
  reject: (error: Error) => void;
  readonly recover: ((error: Error) => Promise<unknown>) | undefined;
  /** Sent by `sendEncodedBatchTo`: `resolve` and `reject` are its sender's callbacks, not a Promise's. */
  readonly direct: boolean;
}

/** Microtask turns an acknowledgement waits for a batch of this side to ride on before it goes alone. */
export const ACK_WAIT_TURNS = 16;

/** Most requests of the far side waiting on an answer that is a promise (a long-poll, say); one more closes the stream. */
export const STREAM_MAX_QUEUED = 64;

interface Waiting {
  resolve(answer: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * A peer link's HTTP connection after an upgrade: both sides write frames on it, one JSON value per line
 * (JSON.stringify never writes a raw newline), and either side's link sends a batch as one write instead
 * of one HTTP POST.
 *
 * Version 1 (`berrymq-link/1`): the frames are JSON-RPC bodies. A frame whose (first) entry has a `method`
 * is a request, answered like a POST body to the bridge server, in order; any other frame answers this
 * side's oldest request. Frames written in one turn of the event loop leave in one write.
 *
 * Version 2 (`berrymq-link/2`): a link's batch is `{"b": n, "e": [envelopes]}`, numbered 1, 2, 3… in each
 * direction, and is acknowledged by number: `{"a": n}` says every batch up to n was delivered (checked,
 * and each of its envelopes handed to the bus: never sooner, so a process killed meanwhile loses nothing
 * its far side was told was delivered). Envelopes the
 * bus refused come back in a later frame as `"r": [[batch, index, error], …]`. An acknowledgement rides
 * on the next batch written the other way (`{"a": 5, "b": 8, "e": […]}`); with none to ride on, it goes
 * alone after a few microtask turns (at the end of the event-loop turn while a batch is being delivered in
 * parts: the next part's answers carry it). A batch leaves at once, so the answer to a request is written
 * as soon as it exists. A large batch of requests or answers is delivered in parts, one per turn (the
 * answers to its first requests leave meanwhile), and acknowledged after its last part. The sender's
 * acknowledgement timeout counts from the batch or the far side's last bytes, whichever is later: a side
 * delivering in parts that has written nothing for STREAM_LIVENESS_MS writes its last acknowledgement
 * again, so a slow far side is not cut off. A batch refused as a whole (a lost token)
 * is answered `{"a": n - 1, "f": [n, error]}`: the sender closes the stream and retries it by POST, which
 * says the same in full.
 *
 * Version 3 (`berrymq-link/3`): version 2, the envelopes of a batch in the compact form of
 * `bridges/compact-envelope.ts` (a positional array; an envelope object is still taken), each decoded and
 * then checked as any envelope. An opener offers `berrymq-link/3, berrymq-link/2, berrymq-link/1` and the
 * server answers the newest it speaks: a berrymq that knows only version 2 keeps the named form.
 *
 * Anything unexpected (bad JSON, an oversized frame, an answer or acknowledgement nobody waits for, a
 * batch out of order) closes the stream: the links go back to POSTs, which answer every error in full.
 */
export class LinkStream {
  readonly #socket: Socket;
  readonly #options: LinkStreamOptions;
  // The far side's frame limit, at most this side's own (its claim never raises what this side buffers).
  readonly #farMaxFrame: number;
  readonly #waiting: Waiting[] = [];
  readonly #onClose: (() => void)[] = [];
  readonly #ended = new AbortController();
  readonly #signal: AbortSignal;
  // The end of an incomplete frame; answers to requests whose answer is a promise, kept in order.
  #partial = "";
  #answering: Promise<void> | undefined;
  #queued = 0;
  #corked = false;
  #closed = false;
  readonly #version: StreamVersion;
  /** Version 2: called with each error the far side gave for an envelope of this side's batches. */
  onRefused: ((error: WireError) => void) | undefined;
  // Version 2, sending: the last batch number used, the batches not yet acknowledged (oldest first), and
  // one timer that checks the oldest (armed once, not per batch).
  #sent = 0;
  readonly #unacked: Unacked[] = [];
  #ackTimer: NodeJS.Timeout | undefined;
  // Version 2, taking: the last batch received, the last taken (checked, to be delivered), the last
  // acknowledged, those still to deliver (the first being delivered), whether an acknowledgement (and
  // refusals) must be written, whether a lone one is queued (and how many microtask turns it waited),
  // and whether the far side's batches are refused from now on.
  #received = 0;
  #accepted = 0;
  #acknowledged = 0;
  readonly #deliveries: Delivery[] = [];
  #ackDue = false;
  #ackQueued = false;
  #ackTurns = 0;
  #refusals: [number, number, WireError][] | undefined;
  #refusing = false;
  // When bytes last came from the far side (its liveness, for #checkAcks), and when this side last wrote
  // (version 2: see STREAM_LIVENESS_MS).
  #heardAt = 0;
  #wroteAt = 0;
  // The acknowledgement waits a few microtask turns for a batch to ride on (an answer leaves about two
  // turns after its request was delivered; the next request as many after the answer settled its
  // caller), then goes alone. A setImmediate here cost an Immediate and a loop phase per batch received,
  // and found nothing to do at one request in flight.
  readonly #ackLater = (): void => {
    if (this.#ackDue && !this.#closed && ++this.#ackTurns < ACK_WAIT_TURNS) void RESOLVED.then(this.#ackLater);
    else this.#flushAck();
  };
  readonly #flushAck = (): void => {
    this.#ackQueued = false;
    if (this.#ackDue && !this.#closed) {
      const frame = `${this.#ackFields()}}\n`;
      this.#acknowledgementSent();
      this.#write2(frame);
    }
  };
  readonly #deliverMore = (): void => this.#deliverPart();
  // Batches of `sendEncodedBatchTo` acknowledged by the frame being handled: told once it is handled.
  readonly #acked: Unacked[] = [];
  // One executor for every batch's Promise: it hands the resolving functions to the batch being sent (a
  // closure per batch made a function and a context each time).
  #sending: Unacked | undefined;
  readonly #executor = (resolve: (value?: unknown) => void, reject: (error: Error) => void): void => {
    const unacked = this.#sending as Unacked;
    unacked.resolve = resolve;
    unacked.reject = reject;
  };
  readonly #checkAcks = (): void => {
    this.#ackTimer = undefined;
    const oldest = this.#unacked[0];
    if (oldest === undefined || this.#closed) return;
    // From the batch or the last bytes of the far side, whichever is later: a far side delivering a long
    // batch writes its answers, or its last acknowledgement again, meanwhile (see STREAM_LIVENESS_MS).
    const waited = performance.now() - Math.max(oldest.sentAt, this.#heardAt);
    if (waited >= oldest.timeout) this.close(`no acknowledgement within ${oldest.timeout} ms, nor anything else`);
    else this.#armAckTimer(oldest.timeout - waited);
  };
  readonly #uncork = (): void => {
    this.#corked = false;
    if (!this.#closed) this.#socket.uncork();
  };

  constructor(socket: Socket, head: Buffer, options: LinkStreamOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#farMaxFrame = Math.min(options.farMaxFrame, options.maxFrame);
    this.#version = options.version ?? 1;
    if (options.signal === undefined) this.#signal = this.#ended.signal;
    else {
      // Released on close (see anySignal: AbortSignal.any grew the server's signal by one per stream).
      const { signal, release } = anySignal([this.#ended.signal, options.signal]);
      this.#signal = signal;
      this.onClose(release);
    }
    socket.setNoDelay(true);
    socket.setTimeout(0);
    // Decoded here: an HTTP server's socket refuses setEncoding. The decoder keeps a character split
    // between two chunks whole.
    const decoder = new StringDecoder("utf8");
    socket.on("data", (chunk: Buffer) => {
      if (this.#version !== 1) this.#heardAt = performance.now();
      this.#take(decoder.write(chunk));
    });
    socket.on("error", () => this.close("socket error"));
    socket.on("close", () => this.close("socket closed"));
    socket.on("end", () => this.close("far side ended the stream"));
    if (head.length > 0) this.#take(decoder.write(head));
  }

  /** Whether the stream is closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The wire version of this stream. */
  get version(): StreamVersion {
    return this.#version;
  }

  /** Whether a request body can go on this stream: it is open, of version 1, and the far side takes a frame that large. */
  carries(body: string): boolean {
    return !this.#closed && this.#version === 1 && fits(body, this.#farMaxFrame);
  }

  /**
   * Version 2: sends a link's batch of envelopes; resolves once the far side has acknowledged it (the
   * envelopes it then refuses go to `onRefused`). Rejects with StreamClosedError when the stream closes
   * first (the batch may or may not have been taken: the caller sends it again, the far side drops what
   * it took by messageId), or with RemoteError when the far side refused the whole batch; given `recover`,
   * it settles instead as what `recover` makes of that error (the caller's fallback, without a `then` of
   * its own per batch). `undefined` when the stream cannot take it (closed, version 1, or a frame larger
   * than the far side takes): the caller then POSTs it.
   */
  sendBatch(
    envelopes: readonly unknown[],
    timeout: number,
    recover?: (error: Error) => Promise<unknown>,
  ): Promise<unknown> | undefined {
    if (this.#closed || this.#version === 1) return undefined;
    return this.sendEncodedBatch(JSON.stringify(envelopes), timeout, recover);
  }

  /** Like `sendBatch`, for envelopes already written as the JSON text of their array (a link's batch). */
  sendEncodedBatch(
    envelopesJson: string,
    timeout: number,
    recover?: (error: Error) => Promise<unknown>,
  ): Promise<unknown> | undefined {
    if (this.#closed || this.#version === 1) return undefined;
    const seq = this.#sent + 1;
    const frame = this.#batchFrame(seq, envelopesJson);
    if (frame === undefined) return undefined;
    const unacked: Unacked = { seq, sentAt: performance.now(), timeout, resolve: unset, reject: unset, recover, direct: false };
    this.#sending = unacked;
    const acknowledged = new Promise<unknown>(this.#executor);
    this.#sending = undefined;
    this.#sendFrame(frame, unacked);
    return acknowledged;
  }

  /**
   * Like `sendEncodedBatch`, but tells its sender through callbacks rather than a Promise: `acknowledged`
   * once the frame that acknowledged the batch is handled, `failed` (in a microtask) when the stream closes
   * first or the far side refuses the batch as a whole; no recovery here, the sender decides. False when
   * the stream cannot take it (see `sendBatch`). A link at one request in flight sends a batch each way
   * per round trip: this spares a Promise, the `then` on it and a microtask job per batch.
   */
  sendEncodedBatchTo(envelopesJson: string, timeout: number, acknowledged: () => void, failed: (error: Error) => void): boolean {
    if (this.#closed || this.#version === 1) return false;
    const seq = this.#sent + 1;
    const frame = this.#batchFrame(seq, envelopesJson);
    if (frame === undefined) return false;
    const sentAt = performance.now();
    this.#sendFrame(frame, { seq, sentAt, timeout, resolve: acknowledged, reject: failed, recover: undefined, direct: true });
    return true;
  }

  // The frame of batch `seq`, the acknowledgement due (if any) riding on it; undefined when the far side
  // takes no frame that large. One template per case: a head built apart was one more string per frame.
  // The far side's limit is on the frame without its newline (it takes exactly farMaxFrame bytes, as its
  // server takes a POST body of exactly maxBodySize): counted here, it sent a frame of exactly the limit as a
  // POST instead, a larger body (each envelope a `berrymq.send` call), refused there (413) and a message
  // alone in it dropped as unsendable.
  #batchFrame(seq: number, envelopesJson: string): string | undefined {
    const frame = !this.#ackDue
      ? `{"b":${seq},"e":${envelopesJson}}\n`
      : this.#refusals === undefined
        ? `{"a":${this.#acknowledged},"b":${seq},"e":${envelopesJson}}\n`
        : `${this.#ackFields()},"b":${seq},"e":${envelopesJson}}\n`;
    return fits(frame, this.#farMaxFrame + 1) ? frame : undefined;
  }

  // Writes a batch's frame, its sender's resolve and reject already set (a write can close the stream,
  // which fails the batch at once).
  #sendFrame(frame: string, unacked: Unacked): void {
    this.#sent = unacked.seq;
    if (this.#ackDue) this.#acknowledgementSent();
    this.#unacked.push(unacked);
    if (this.#ackTimer === undefined) this.#armAckTimer(unacked.timeout);
    this.#write2(frame);
  }

  /** Sends a JSON-RPC request body; resolves to the decoded answer frame. Rejects when the stream closes first. */
  request(body: string, timeout: number): Promise<unknown> {
    if (this.#closed) return Promise.reject(new StreamClosedError(this.#options.name, "closed before the call"));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.close(`no answer within ${timeout} ms`), timeout);
      this.#waiting.push({ resolve, reject, timer });
      this.#send(`${body}\n`);
    });
  }

  /** Calls `listener` once the stream has closed. */
  onClose(listener: () => void): void {
    if (this.#closed) listener();
    else this.#onClose.push(listener);
  }

  /** Closes the stream; calls still waiting reject with StreamClosedError (their links retry them). */
  close(reason = "closed"): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#partial = "";
    this.#socket.destroy();
    this.#ended.abort(new StreamClosedError(this.#options.name, reason));
    const error = new StreamClosedError(this.#options.name, reason);
    for (const waiting of this.#waiting.splice(0)) {
      clearTimeout(waiting.timer);
      waiting.reject(error);
    }
    if (this.#ackTimer !== undefined) clearTimeout(this.#ackTimer);
    for (const unacked of this.#unacked.splice(0)) failBatch(unacked, error);
    // Only delivered batches were acknowledged: the far side sends the rest again, by POST or on a new
    // stream (its bus drops the envelopes of a batch cut mid-delivery that came twice, by messageId).
    this.#deliveries.length = 0;
    for (const listener of this.#onClose.splice(0)) listener();
  }

  #take(text: string): void {
    // The usual chunk: one whole frame. JSON.parse skips the newline as white space: no slice to take.
    if (this.#partial === "" && text.indexOf("\n") === text.length - 1 && !this.#closed) {
      this.#frame(text, text.length - 1);
      return;
    }
    let start = 0;
    for (let end = text.indexOf("\n"); end !== -1 && !this.#closed; end = text.indexOf("\n", start)) {
      const piece = text.slice(start, end);
      const frame = this.#partial === "" ? piece : this.#partial + piece;
      this.#partial = "";
      start = end + 1;
      this.#frame(frame, frame.length);
    }
    if (this.#closed) return;
    this.#partial += text.slice(start);
    // Bounded like a POST body: a frame still growing past the limit is refused before it is complete.
    if (this.#partial.length > this.#options.maxFrame) this.close(`a frame larger than ${this.#options.maxFrame} bytes`);
  }

  // `length`: of the frame without its newline, which `text` may end with.
  #frame(text: string, length: number): void {
    const trouble = this.#version === 1 ? this.#handle(text, length) : this.#handle2(text, length);
    if (trouble !== undefined) this.close(trouble);
    if (this.#acked.length > 0) this.#tellAcknowledged();
  }

  // The senders of the batches the frame just handled acknowledged (taken, whatever became of the
  // stream since): told now that the frame is through, so that what they send next cannot interleave
  // with its handling.
  #tellAcknowledged(): void {
    const acked = this.#acked;
    if (acked.length === 1) {
      const only = acked.pop() as Unacked;
      only.resolve();
      return;
    }
    for (const unacked of acked.splice(0)) unacked.resolve();
  }

  // Version 2: takes one frame (an acknowledgement first, then a batch); returns why the stream must close.
  #handle2(text: string, length: number): string | undefined {
    if (!fits(text, this.#options.maxFrame + text.length - length)) return `a frame larger than ${this.#options.maxFrame} bytes`;
    const parsed = parseExactJson(text);
    if (!parsed.ok) return refusal(parsed.message, text, length);
    const frame = parsed.value;
    if (!isPlainObject(frame)) return "a frame that is not a JSON object";
    const { a, b } = frame;
    if (a !== undefined) {
      const trouble = this.#acknowledgement(a, frame.r, frame.f);
      if (trouble !== undefined) return trouble;
    } else if (b === undefined) return 'a frame with neither a batch ("b") nor an acknowledgement ("a")';
    return b === undefined ? undefined : this.#batch(b, frame.e);
  }

  // Every batch of this side up to `a` was taken: their senders resolve; `r` lists envelopes the far
  // bus refused; `f` names the next batch, refused as a whole.
  #acknowledgement(a: unknown, r: unknown, f: unknown): string | undefined {
    if (!Number.isSafeInteger(a) || (a as number) > this.#sent)
      return `an acknowledgement of batch ${describeNumber(a)}, never sent`;
    const upTo = a as number;
    if (r !== undefined) {
      const refused = refusalsOf(r, this.#sent);
      if (refused === undefined) return 'refusals ("r") that are not [[batch, index, error], …]';
      for (const entry of refused) this.onRefused?.(entry[2]);
    }
    for (let oldest = this.#unacked[0]; oldest !== undefined && oldest.seq <= upTo; oldest = this.#unacked[0]) {
      this.#unacked.shift();
      if (oldest.direct) this.#acked.push(oldest);
      else oldest.resolve();
    }
    if (f === undefined) return undefined;
    const failed = this.#unacked[0];
    if (!Array.isArray(f) || f[0] !== upTo + 1 || failed === undefined || failed.seq !== upTo + 1 || !isWireError(f[1])) {
      return 'a refusal ("f") that is not [the next batch, error]';
    }
    this.#unacked.shift();
    const { code, message, data } = f[1];
    failBatch(failed, new RemoteError("berrymq.sendAll", code, message, data));
    return `the far side refused batch ${failed.seq} as a whole`;
  }

  // A batch of the far side: checked as a whole, then delivered in order, in parts when large.
  #batch(b: unknown, e: unknown): string | undefined {
    const take = this.#options.take;
    if (take === undefined) return "a batch on a stream that takes none";
    if (b !== this.#received + 1) return `batch ${describeNumber(b)} where ${this.#received + 1} was due`;
    if (!Array.isArray(e)) return 'a batch without its envelopes ("e")';
    this.#received = b;
    // After a batch refused as a whole nothing more is taken: the far side closes the stream.
    if (this.#refusing) return undefined;
    if (this.#deliveries.length >= STREAM_MAX_WAITING_BATCHES)
      return `more than ${STREAM_MAX_WAITING_BATCHES} batches waiting to be delivered`;
    let deliver: Deliverer;
    try {
      deliver = this.#version === 3 ? takeCompact(take, e) : take(e);
    } catch (error) {
      this.#refuse(error);
      return undefined;
    }
    this.#accepted = b;
    const part = e.length > DELIVERY_PART && asksOrAnswers(e) ? DELIVERY_PART : e.length;
    this.#deliveries.push({ seq: b, length: e.length, deliver, part, done: 0 });
    // Acknowledged once delivered, never before: a process killed meanwhile loses no batch it acknowledged.
    if (this.#deliveries.length === 1) this.#deliverPart();
    return undefined;
  }

  // Delivers the next part of the oldest batch (its first part at once, the others one per turn), then
  // acknowledges what is delivered. Once the stream closed nothing more is: the far side sends again
  // what was not acknowledged (its bus drops what came twice by messageId).
  #deliverPart(): void {
    const delivery = this.#deliveries[0];
    if (delivery === undefined) return;
    const start = delivery.done;
    const end = Math.min(delivery.length, start + delivery.part);
    if (!this.#deliverRange(delivery, end)) return;
    if (end === delivery.length) {
      this.#deliveries.shift();
      // A large batch's acknowledgement goes at once, alone: its sender's next batch waits for it, and
      // there is seldom a batch of this side to ride on.
      if (delivery.length > DELIVERY_PART && !this.#closed) {
        this.#acknowledge();
        if (this.#ackDue) this.#flushAck();
      }
    }
    if (this.#deliveries.length > 0 && !this.#closed) {
      setImmediate(this.#deliverMore);
      // Nothing written for a while (no answers, nothing delivered whole): the last acknowledgement
      // again, which keeps the far side's timer (counted from the batch or its last bytes received)
      // from cutting a stream that is only slow.
      const quiet = performance.now() - Math.max(this.#wroteAt, this.#heardAt);
      if (!this.#ackDue && quiet >= STREAM_LIVENESS_MS) this.#write2(`{"a":${this.#acknowledged}}\n`);
    }
    this.#acknowledge();
  }

  // Delivers `delivery` up to `end`, its refusals noted for the next acknowledgement; false when the
  // deliverer threw (the stream is then closed).
  #deliverRange(delivery: Delivery, end: number): boolean {
    const start = delivery.done;
    let results: readonly unknown[];
    try {
      results = delivery.deliver(start, end);
    } catch (error) {
      // A deliverer answers each envelope's failure in its result: this is a bug, not the far side's doing.
      this.#deliveries.length = 0;
      this.close(`a batch could not be delivered: ${error instanceof Error ? error.message : String(error)}`);
      return false;
    }
    for (let i = 0; i < results.length; i++) {
      const result = results[i];
      if (typeof result !== "object" || result === null) continue;
      const refusals = this.#refusals ?? [];
      refusals.push([delivery.seq, start + i, (result as { error: WireError }).error]);
      this.#refusals = refusals;
      this.#ackDue = true;
    }
    delivery.done = end;
    return true;
  }

  // Acknowledges every batch received that is delivered (the far side's link sends nothing more
  // meanwhile). Written with this side's next batch, or alone (see #ackLater).
  #acknowledge(): void {
    if (this.#closed) return;
    const waiting = this.#deliveries[0];
    const upTo = waiting === undefined ? this.#accepted : waiting.seq - 1;
    if (upTo > this.#acknowledged) {
      this.#acknowledged = upTo;
      this.#ackDue = true;
    }
    if (this.#ackDue && !this.#ackQueued) {
      this.#ackQueued = true;
      this.#ackTurns = 0;
      // While a batch is delivered in parts, its next part (the next turn of the loop) sends answers
      // the acknowledgement can ride on: it waits for them, as it always did.
      if (this.#deliveries.length > 0) setImmediate(this.#flushAck);
      else void RESOLVED.then(this.#ackLater);
    }
  }

  // A batch of the far side is refused as a whole: said at once, and nothing more is taken. The batches
  // taken before it are delivered first, at once, so that the refusal names that batch and acknowledges
  // every one before it (its sender closes the stream and sends it, and what follows it, again).
  #refuse(error: unknown): void {
    this.#refusing = true;
    for (let delivery = this.#deliveries[0]; delivery !== undefined; delivery = this.#deliveries[0]) {
      if (!this.#deliverRange(delivery, delivery.length)) return;
      this.#deliveries.shift();
    }
    this.#acknowledged = this.#accepted;
    const { code, message, data } = toRpcError(error);
    const wire: WireError = data === undefined ? { code, message } : { code, message, data };
    const frame = `${this.#ackFields()},"f":[${this.#acknowledged + 1},${JSON.stringify(wire)}]}\n`;
    this.#acknowledgementSent();
    this.#write2(frame);
  }

  // `{"a":<last batch acknowledged>` and the refusals to report, if any (the caller closes the object).
  #ackFields(): string {
    const refusals = this.#refusals;
    return refusals === undefined ? `{"a":${this.#acknowledged}` : `{"a":${this.#acknowledged},"r":${JSON.stringify(refusals)}`;
  }

  // The acknowledgement (and refusals) of #ackFields is in a frame that is being written.
  #acknowledgementSent(): void {
    this.#ackDue = false;
    this.#refusals = undefined;
  }

  #armAckTimer(delay: number): void {
    // Unreferenced: the socket keeps the process alive while a batch waits, and the timer must not after.
    // Whole ms: a fractional delay deoptimizes every function that handled a timer (see RequestTable's #arm).
    this.#ackTimer = setTimeout(this.#checkAcks, Math.ceil(delay));
    this.#ackTimer.unref();
  }

  // Takes one frame; returns why the stream must close, if it must.
  #handle(text: string, length: number): string | undefined {
    if (!fits(text, this.#options.maxFrame + text.length - length)) {
      return `a frame larger than ${this.#options.maxFrame} bytes`;
    }
    const parsed = parseExactJson(text);
    if (!parsed.ok) return refusal(parsed.message, text, length);
    if (isRequest(parsed.value)) return this.#answerRequest(parsed.value);
    const waiting = this.#waiting.shift();
    if (waiting === undefined) return "an answer to no request";
    clearTimeout(waiting.timer);
    waiting.resolve(parsed.value);
    return undefined;
  }

  // Answered at once when the answer is ready (the hot path: `berrymq.send` batches), else in turn.
  // Bounded: a far side that pipelines requests without end, or reads none of the answers, is cut off.
  #answerRequest(payload: unknown): string | undefined {
    if (this.#answering !== undefined) {
      if (this.#queued >= STREAM_MAX_QUEUED) return `more than ${STREAM_MAX_QUEUED} requests waiting for an answer`;
      this.#track(this.#answering.then(() => this.#settle(this.#options.answer(payload, this.#signal))));
      return undefined;
    }
    const answer = this.#options.answer(payload, this.#signal);
    if (isThenable(answer)) this.#track(this.#settle(answer));
    else this.#write(answer);
    return undefined;
  }

  #track(chain: Promise<void>): void {
    this.#answering = chain;
    this.#queued++;
    void chain.then(() => {
      this.#queued--;
      if (this.#answering === chain) this.#answering = undefined;
    });
  }

  async #settle(answer: unknown): Promise<void> {
    try {
      this.#write(await answer);
    } catch {
      this.close("a request could not be answered");
    }
  }

  #write(answer: unknown): void {
    if (this.#closed || answer === null || answer === undefined) return;
    this.#send(`${JSON.stringify(answer)}\n`);
  }

  // Version 1: frames written in one turn of the event loop leave in one write (an answer and the
  // acknowledgement of the batch that asked for it, typically, so the far process wakes once for both).
  #send(frame: string): void {
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      setImmediate(this.#uncork);
    }
    this.#write1(frame);
  }

  // Version 2: each frame leaves at once (a batch carries the acknowledgement that was due), so the far
  // process wakes while this one finishes its turn.
  #write2(frame: string): void {
    this.#wroteAt = performance.now();
    this.#write1(frame);
  }

  #write1(frame: string): void {
    this.#socket.write(frame);
    // Frames pile up in memory while the far side reads none: past four frames' worth (of this side's
    // maxFrame, which bounds the batches it sends too), it is cut off.
    if (this.#socket.writableLength > 4 * this.#options.maxFrame) {
      this.close("the far side reads nothing");
    }
  }
}

// Why a frame is refused, as it reads without the newline a whole-chunk frame is parsed with (JSON.parse
// quotes the text it could not read): only on this path is the frame cut.
function refusal(message: string, text: string, length: number): string {
  if (length < text.length) {
    const bare = parseExactJson(text.slice(0, length));
    if (!bare.ok) message = bare.message;
  }
  return message.slice(0, 200);
}

// What a batch's resolve and reject are until its Promise's executor has run (at once, in sendEncodedBatch).
function unset(): void {}

// A batch that was not acknowledged: rejected, or settled as its sender's recovery from the error.
function failBatch(unacked: Unacked, error: Error): void {
  // A callback sender hears of it in a microtask, as a Promise's would: never inside the close.
  if (unacked.direct) {
    void RESOLVED.then(() => unacked.reject(error));
    return;
  }
  if (unacked.recover === undefined) {
    unacked.reject(error);
    return;
  }
  try {
    unacked.resolve(unacked.recover(error));
  } catch (thrown) {
    unacked.reject(thrown as Error);
  }
}

// Version 3: a batch's compact envelopes become the objects `take` checks, in place (an envelope object
// is taken as it is: a batch written another way than `PeerLink`'s). One the decoder refuses (its shape)
// is left as it came, for the deliverer to refuse with the others' checks and count, and its result is
// the decoder's error, which names what was wrong.
function takeCompact(take: (envelopes: unknown[]) => Deliverer, e: unknown[]): Deliverer {
  // Checked as a whole first (the bound on envelopes a batch): the deliverer reads the array as decoded below.
  const deliver = take(e);
  let refused: Map<number, unknown> | undefined;
  for (let i = 0; i < e.length; i++) {
    try {
      e[i] = fromCompactEnvelope(e[i]);
    } catch (error) {
      refused ??= new Map();
      refused.set(i, error);
    }
  }
  if (refused === undefined) return deliver;
  const errors = refused;
  return (start, end) => {
    const results = deliver(start, end).slice();
    for (const [index, error] of errors) if (index >= start && index < end) results[index - start] = { error: toRpcError(error) };
    return results;
  };
}

// Whether a batch holds requests or answers (what delivering in parts lets leave or come sooner).
function asksOrAnswers(envelopes: readonly unknown[]): boolean {
  for (const envelope of envelopes) {
    const { replyTo, inReplyTo } = (envelope ?? {}) as { replyTo?: unknown; inReplyTo?: unknown };
    if (replyTo !== undefined || inReplyTo !== undefined) return true;
  }
  return false;
}

function describeNumber(value: unknown): string {
  return typeof value === "number" ? String(value) : typeof value;
}

function isWireError(value: unknown): value is WireError {
  return isPlainObject(value) && typeof value.code === "number" && typeof value.message === "string";
}

// The refusals of an acknowledgement, checked (they came from the far side): each names a batch this
// side sent; undefined when malformed.
function refusalsOf(r: unknown, sent: number): [number, number, WireError][] | undefined {
  if (!Array.isArray(r)) return undefined;
  for (const entry of r as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 3 || !Number.isSafeInteger(entry[1])) return undefined;
    if (!Number.isSafeInteger(entry[0]) || entry[0] < 1 || entry[0] > sent || !isWireError(entry[2])) return undefined;
  }
  return r as [number, number, WireError][];
}

// At most `limit` bytes in UTF-8; a text of up to limit / 3 UTF-16 units is, without counting.
function fits(text: string, limit: number): boolean {
  return text.length * 3 <= limit || (text.length <= limit && Buffer.byteLength(text) <= limit);
}

function isRequest(payload: unknown): boolean {
  const first = Array.isArray(payload) ? payload[0] : payload;
  return isPlainObject(first) && "method" in first;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}
