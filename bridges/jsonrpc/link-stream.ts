import { createHmac } from "node:crypto";
import type { Socket } from "node:net";
import { StringDecoder } from "node:string_decoder";
import { isPlainObject } from "../../lib/kwargs.js";
import { StreamClosedError } from "./errors.js";
import { parseExactJson } from "./exact-json.js";

/** The `Upgrade` protocol a peer link asks for to turn its HTTP connection into a {@link LinkStream}. */
export const STREAM_PROTOCOL = "berrymq-link/1";
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
  /** Largest frame the far side takes: larger bodies are not sent here (`carries` says no). */
  farMaxFrame: number;
  /**
   * Answers a request frame as the bridge server answers a POST body (null: nothing to answer); `signal`
   * ends what waits (long-polls) once the stream closes, as a client hanging up ends a POST's.
   */
  answer(payload: unknown, signal: AbortSignal): unknown;
  /** Also ends what waits (the server closing). */
  signal?: AbortSignal;
}

/** Most requests of the far side waiting on an answer that is a promise (a long-poll, say); one more closes the stream. */
export const STREAM_MAX_QUEUED = 64;

interface Waiting {
  resolve(answer: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * A peer link's HTTP connection after `Upgrade: berrymq-link/1`: both sides write JSON-RPC bodies on it,
 * one per line (JSON.stringify never writes a raw newline). A frame whose (first) entry has a `method`
 * is a request, answered like a POST body to the bridge server, in order; any other frame answers this
 * side's oldest request. Either side's link then sends a batch as one write instead of one HTTP POST, and
 * both directions share the socket. Anything unexpected (bad JSON, an oversized frame, an answer nobody
 * asked for) closes the stream: the links go back to POSTs, which answer every error in full.
 */
export class LinkStream {
  readonly #socket: Socket;
  readonly #options: LinkStreamOptions;
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
  readonly #uncork = (): void => {
    this.#corked = false;
    if (!this.#closed) this.#socket.uncork();
  };

  constructor(socket: Socket, head: Buffer, options: LinkStreamOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#signal = options.signal === undefined ? this.#ended.signal : AbortSignal.any([this.#ended.signal, options.signal]);
    socket.setNoDelay(true);
    socket.setTimeout(0);
    // Decoded here: an HTTP server's socket refuses setEncoding. The decoder keeps a character split
    // between two chunks whole.
    const decoder = new StringDecoder("utf8");
    socket.on("data", (chunk: Buffer) => this.#take(decoder.write(chunk)));
    socket.on("error", () => this.close("socket error"));
    socket.on("close", () => this.close("socket closed"));
    socket.on("end", () => this.close("far side ended the stream"));
    if (head.length > 0) this.#take(decoder.write(head));
  }

  /** Whether the stream is closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether a request body can go on this stream: it is open and the far side takes a frame that large. */
  carries(body: string): boolean {
    return !this.#closed && fits(body, this.#options.farMaxFrame);
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
    for (const listener of this.#onClose.splice(0)) listener();
  }

  #take(text: string): void {
    let start = 0;
    for (let end = text.indexOf("\n"); end !== -1 && !this.#closed; end = text.indexOf("\n", start)) {
      const piece = text.slice(start, end);
      const frame = this.#partial === "" ? piece : this.#partial + piece;
      this.#partial = "";
      start = end + 1;
      this.#frame(frame);
    }
    if (this.#closed) return;
    this.#partial += text.slice(start);
    // Bounded like a POST body: a frame still growing past the limit is refused before it is complete.
    if (this.#partial.length > this.#options.maxFrame) this.close(`a frame larger than ${this.#options.maxFrame} bytes`);
  }

  #frame(text: string): void {
    const trouble = this.#handle(text);
    if (trouble !== undefined) this.close(trouble);
  }

  // Takes one frame; returns why the stream must close, if it must.
  #handle(text: string): string | undefined {
    if (!fits(text, this.#options.maxFrame)) {
      return `a frame larger than ${this.#options.maxFrame} bytes`;
    }
    const parsed = parseExactJson(text);
    if (!parsed.ok) return parsed.message.slice(0, 200);
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

  // Frames written in one turn of the event loop leave in one write: an answer and the acknowledgement
  // of the batch that asked for it, typically, so the far process wakes once for both.
  #send(frame: string): void {
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      setImmediate(this.#uncork);
    }
    this.#socket.write(frame);
    // Answers pile up in memory while the far side reads none: past a few frames' worth, it is cut off.
    if (this.#socket.writableLength > 4 * Math.max(this.#options.maxFrame, this.#options.farMaxFrame)) {
      this.close("the far side reads nothing");
    }
  }
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
