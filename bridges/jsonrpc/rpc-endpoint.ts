import { Agent, type ClientRequest, request } from "node:http";
import type { Socket } from "node:net";
import { describe, InvalidArgumentError } from "../../lib/errors.js";
import { checkTimerDelay, type LongTimer, setLongTimeout } from "../../lib/long-timer.js";
import { BadResponseError, EndpointClosedError, HttpStatusError, NoAnswerError, RemoteError, StreamClosedError } from "./errors.js";
import {
  STREAM_FRAME_HEADER,
  STREAM_NONCE_HEADER,
  STREAM_PROOF_HEADER,
  STREAM_TOKEN_HEADER,
  type StreamVersion,
  streamVersionOf,
} from "./link-stream.js";

/** Options of an {@link RpcEndpoint}. */
export interface RpcEndpointOptions {
  /** Shared secret sent as `Authorization: Bearer <secret>`. */
  secret?: string;
  /** Milliseconds to wait for an answer before failing (default 30,000). */
  timeout?: number;
  /** Largest answer it reads, in bytes (default 64 MiB); past it the request fails with BadResponseError. */
  maxAnswerSize?: number;
}

/** The largest answer an endpoint reads by default. */
export const DEFAULT_MAX_ANSWER_SIZE = 64 * 1024 * 1024;

// The errors of calls that failed after their TCP connection was established (see `reachedServer`).
const reached = new WeakSet<object>();

/**
 * Whether a call of an endpoint failed with `error` after its TCP connection was established (a new
 * connection's 'connect', or a kept-alive one): something listened at the address then, even if it did not
 * answer (a process paused or busy still accepts connections). False for a refused connection, and for a
 * call that timed out or failed before its connection was established.
 */
export function reachedServer(error: unknown): boolean {
  return typeof error === "object" && error !== null && reached.has(error);
}

/** One JSON-RPC 2.0 call of a batch. */
export interface RpcCall {
  method: string;
  params: unknown;
}

/** One JSON-RPC 2.0 call of a batch, numbered and encoded (see `RpcEndpoint.encodeCalls`). */
export interface EncodedCall {
  id: number;
  method: string;
  /** The request's JSON text. */
  json: string;
}

/** The outcome of one call of a batch: its result, or the error the server answered. */
export type RpcOutcome = { ok: true; result: unknown } | { ok: false; error: RemoteError };

/** Another way to the same server for a batch body: a peer link's stream (see `LinkStream`). */
export interface RpcCarrier {
  /** Whether it can take this body now. */
  carries(body: string): boolean;
  /** Sends the body; resolves to the decoded answer. */
  request(body: string, timeout: number): Promise<unknown>;
  /**
   * Sends a link's batch, given as the JSON text of its envelopes array, as a numbered batch (a version 2
   * stream); resolves once acknowledged, or settles as `recover` makes of a failure. `undefined` when it
   * cannot take it now (see `LinkStream.sendBatch`).
   */
  sendEncodedBatch?(
    envelopesJson: string,
    timeout: number,
    recover?: (error: Error) => Promise<unknown>,
  ): Promise<unknown> | undefined;
}

/** A connection the server upgraded to a link stream, and the largest frame it takes. */
export interface Upgraded {
  socket: Socket;
  head: Buffer;
  farMaxFrame: number;
  /** The server's answer to the challenge (`peerProof`), when it sent one. */
  proof: string | undefined;
  /** The stream version the server took. */
  version: StreamVersion;
}

/** An upgrade the server answered with an HTTP status instead (an older server: 405, or 400 for an offer it does not know). */
export interface NotUpgraded {
  socket?: undefined;
  status: number;
}

/**
 * The client end of HTTP JSON-RPC to one bridge server URL: one keep-alive agent, JSON-RPC 2.0 calls and
 * batches, and berryMQ 0.3 (JSON-RPC 1.0) calls. Rejects with HttpStatusError, RemoteError or a socket error.
 */
export class RpcEndpoint {
  readonly url: URL;
  /** The url as errors name it: without a user name or password it may hold. */
  readonly where: string;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 4 });
  readonly #headers: Record<string, string>;
  readonly #timeout: number;
  readonly #maxAnswer: number;
  #nextId = 1;
  // The requests not yet settled (POSTs and upgrades) and what ends each (its deadline too), called by
  // close(); undefined once closed.
  #pending: Map<ClientRequest, (error: Error) => void> | undefined = new Map();

  constructor(url: string | URL, options: RpcEndpointOptions = {}) {
    this.url = parseHttpUrl(url);
    this.where = withoutCredentials(this.url);
    this.#timeout = checkTimerDelay("timeout", options.timeout ?? 30_000);
    const maxAnswer = options.maxAnswerSize ?? DEFAULT_MAX_ANSWER_SIZE;
    if (!Number.isInteger(maxAnswer) || maxAnswer < 1)
      throw new InvalidArgumentError("maxAnswerSize", maxAnswer, "an integer >= 1");
    this.#maxAnswer = maxAnswer;
    this.#headers = { "content-type": "application/json" };
    if (options.secret !== undefined) this.#headers.authorization = `Bearer ${options.secret}`;
  }

  /** Milliseconds it waits for an answer before failing. */
  get timeout(): number {
    return this.#timeout;
  }

  /** Calls one JSON-RPC 2.0 method; resolves to its result. */
  async call(method: string, params: unknown, timeout?: number): Promise<unknown> {
    const id = this.#nextId++;
    const answer = await this.post(JSON.stringify({ jsonrpc: "2.0", id, method, params }), timeout);
    const outcome = outcomeOf(this.where, method, answer);
    if (!outcome.ok) throw outcome.error;
    return outcome.result;
  }

  /** Sends calls as one JSON-RPC 2.0 batch; resolves to their outcomes, in order. */
  async batch(calls: readonly RpcCall[]): Promise<RpcOutcome[]> {
    const first = this.#nextId;
    this.#nextId += calls.length;
    const requests = new Array<{ jsonrpc: "2.0"; id: number; method: string; params: unknown }>(calls.length);
    for (let i = 0; i < calls.length; i++) {
      const { method, params } = calls[i] as RpcCall;
      requests[i] = { jsonrpc: "2.0", id: first + i, method, params };
    }
    const answer = await this.post(JSON.stringify(requests));
    return this.#outcomes(
      answer,
      calls.length,
      (i) => first + i,
      (i) => (calls[i] as RpcCall).method,
    );
  }

  /**
   * Encodes calls as JSON-RPC 2.0 requests, numbered now, each its own JSON text (so a caller can measure
   * them and group them into bodies of a size it chooses, sent by `batchEncoded`).
   */
  encodeCalls(calls: readonly RpcCall[]): EncodedCall[] {
    const encoded = new Array<EncodedCall>(calls.length);
    for (let i = 0; i < calls.length; i++) {
      const { method, params } = calls[i] as RpcCall;
      const id = this.#nextId++;
      encoded[i] = { id, method, json: JSON.stringify({ jsonrpc: "2.0", id, method, params }) };
    }
    return encoded;
  }

  /** Sends calls encoded by `encodeCalls` as one JSON-RPC 2.0 batch; resolves to their outcomes, in order. */
  async batchEncoded(calls: readonly EncodedCall[]): Promise<RpcOutcome[]> {
    let body = "[";
    for (let i = 0; i < calls.length; i++)
      body += i === 0 ? (calls[i] as EncodedCall).json : `,${(calls[i] as EncodedCall).json}`;
    const answer = await this.post(`${body}]`);
    return this.#outcomes(
      answer,
      calls.length,
      (i) => (calls[i] as EncodedCall).id,
      (i) => (calls[i] as EncodedCall).method,
    );
  }

  #outcomes(answer: unknown, count: number, idOf: (i: number) => number, methodOf: (i: number) => string): RpcOutcome[] {
    if (!Array.isArray(answer)) {
      // A batch the server refused as a whole comes back as one error object.
      const whole = outcomeOf(this.where, "batch", answer);
      if (!whole.ok) throw whole.error;
      throw new BadResponseError(this.where, answer, "an array of responses");
    }
    // Servers may answer a batch in any order; ours keeps it, so responses are matched by position
    // first and looked up by id only when that does not fit.
    let byId: Map<unknown, unknown> | undefined;
    const outcomes = new Array<RpcOutcome>(count);
    for (let i = 0; i < count; i++) {
      let response: unknown = answer[i];
      const id = idOf(i);
      if ((response as { id?: unknown } | null | undefined)?.id !== id) {
        byId ??= new Map(answer.map((each: unknown) => [(each as { id?: unknown } | null)?.id, each]));
        response = byId.get(id);
      }
      outcomes[i] = outcomeOf(this.where, methodOf(i), response);
    }
    return outcomes;
  }

  /**
   * Calls one JSON-RPC 2.0 method over `via` (a link stream); resolves to its outcome, or to `undefined`
   * when `via` cannot take the body or closed under the call: the caller then goes by POST, and the far
   * side drops by messageId whatever it took twice.
   */
  async callOver(via: RpcCarrier, method: string, params: unknown): Promise<RpcOutcome | undefined> {
    const id = this.#nextId++;
    const body = JSON.stringify({ jsonrpc: "2.0", id, method, params });
    if (!via.carries(body)) return undefined;
    let answer: unknown;
    try {
      answer = await via.request(body, this.#timeout);
    } catch (error) {
      if (error instanceof StreamClosedError) return undefined;
      throw error;
    }
    const answered = (answer as { id?: unknown } | null)?.id;
    // An error about the call as a whole (a refused frame) comes with a null id.
    if (answered !== id && answered !== null) throw new BadResponseError(this.where, answer, `the answer to call ${id}`);
    return outcomeOf(this.where, method, answer);
  }

  /** Calls a berryMQ 0.3 method in the JSON-RPC 1.0 form (`id` null, no `jsonrpc` member); `timeout` as `call`'s. */
  async legacyCall(method: string, params: unknown[], timeout?: number): Promise<unknown> {
    const answer = await this.post(JSON.stringify({ id: null, method, params }), timeout);
    if (typeof answer !== "object" || answer === null || !("result" in answer) || !("error" in answer)) {
      throw new BadResponseError(this.where, answer, '{"id", "result", "error"}');
    }
    const { result, error } = answer as { result: unknown; error: unknown };
    if (error !== null) {
      const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
      throw new RemoteError(
        method,
        typeof code === "number" ? code : 0,
        typeof message === "string" ? message : describe(error),
        error,
      );
    }
    return result;
  }

  /** POSTs a JSON body and resolves to the decoded answer (undefined for an empty 204 answer). */
  post(body: string, timeout = this.#timeout): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const pending = this.#pending;
      if (pending === undefined) return reject(new EndpointClosedError(this.where));
      const length = Buffer.byteLength(body);
      const req = request(
        this.url,
        { method: "POST", agent: this.#agent, headers: { ...this.#headers, "content-length": length } },
        (res) => {
          const chunks: Buffer[] = [];
          // A server (or whatever answers at that address) could send without end: it is read up to the bound.
          let size = 0;
          res.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size <= this.#maxAnswer) {
              chunks.push(chunk);
              return;
            }
            chunks.length = 0;
            const why = `an answer of at most ${this.#maxAnswer} bytes (the maxAnswerSize option)`;
            req.destroy(new BadResponseError(this.where, `(more than ${this.#maxAnswer} bytes)`, why));
          });
          res.on("error", reject);
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            const status = res.statusCode ?? 0;
            if (status === 204) return resolve(undefined);
            if (status !== 200) return reject(new HttpStatusError(this.where, status, text, length));
            try {
              resolve(JSON.parse(text));
            } catch {
              reject(new BadResponseError(this.where, text, "JSON"));
            }
          });
        },
      );
      // Whether the connection was established (see `reachedServer`): a kept-alive socket was.
      let connected = false;
      // A deadline for the whole answer: a socket timeout starts again on every byte, so a server that
      // trickled its answer held the call past `timeout` for good. It rejects at once: a request still
      // waiting for one of the agent's sockets (all busy) emits its error only once it gets one.
      const deadline = setLongTimeout(() => {
        const late = new NoAnswerError(this.where, timeout);
        if (connected) reached.add(late);
        reject(late);
        req.destroy(late);
      }, timeout);
      track(pending, req, deadline, reject);
      req.on("socket", (socket) => {
        if (!socket.connecting) connected = true;
        else
          socket.once("connect", () => {
            connected = true;
          });
      });
      req.on("error", (error) => {
        if (connected) reached.add(error);
        reject(error);
      });
      req.end(body);
    });
  }

  /**
   * Asks the server to turn a new connection into a link stream for `token`, offering the `Upgrade`
   * protocols `offer` (e.g. `berrymq-link/2, berrymq-link/1`). Resolves to the upgraded socket and the
   * version the server took, or to the HTTP status it answered instead (an older berrymq server answers
   * the GET with 405, one that knows only berrymq-link/1 answers an offer without it 400).
   */
  upgrade(
    token: string,
    maxFrame: number,
    nonce: string,
    offer: string,
    timeout = this.#timeout,
  ): Promise<Upgraded | NotUpgraded> {
    return new Promise((resolve, reject) => {
      const pending = this.#pending;
      if (pending === undefined) return reject(new EndpointClosedError(this.where));
      const req = request(this.url, {
        method: "GET",
        agent: false,
        headers: {
          ...this.#headers,
          connection: "Upgrade",
          upgrade: offer,
          [STREAM_TOKEN_HEADER]: token,
          [STREAM_FRAME_HEADER]: String(maxFrame),
          [STREAM_NONCE_HEADER]: nonce,
        },
      });
      // A deadline, as for calls: a socket timeout starts again on every byte, so a server that trickled
      // its answer held the upgrade for good. It stops once the socket is the stream's.
      const deadline = setLongTimeout(
        () => req.destroy(new NoAnswerError(this.where, timeout, "no answer to the upgrade")),
        timeout,
      );
      track(pending, req, deadline, reject);
      req.on("error", reject);
      req.on("response", (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0 });
      });
      req.on("upgrade", (res, socket: Socket, head: Buffer) => {
        const farMaxFrame = Number(res.headers[STREAM_FRAME_HEADER]);
        // Exactly one protocol, and one that was offered.
        const taken = res.headers.upgrade ?? "";
        const version = taken.includes(",") ? undefined : streamVersionOf(taken);
        if (version === undefined || !offers(offer, version) || !Number.isInteger(farMaxFrame) || farMaxFrame < 1) {
          socket.destroy();
          return resolve({ status: 101 });
        }
        deadline.clear();
        // The socket is the stream's now: close() leaves it to the link.
        pending.delete(req);
        const proof = res.headers[STREAM_PROOF_HEADER];
        resolve({ socket, head, farMaxFrame, proof: typeof proof === "string" ? proof : undefined, version });
      });
      req.end();
    });
  }

  /**
   * Closes the endpoint: calls not yet answered fail with EndpointClosedError (their deadlines stop), later
   * ones are refused with it, and the kept-alive sockets close. Destroying the agent alone let a later call
   * open a new socket, and a call in flight hold the process until its timeout.
   */
  close(): void {
    const pending = this.#pending;
    if (pending === undefined) return;
    this.#pending = undefined;
    // Each fails at once: a request still waiting for one of the agent's sockets emits its error only once
    // it gets one.
    for (const end of pending.values()) end(new EndpointClosedError(this.where));
    this.#agent.destroy();
  }
}

// Whether the offer lists the protocol of `version`.
function offers(offer: string, version: StreamVersion): boolean {
  return offer.split(",").some((part) => streamVersionOf(part) === version);
}

/** Checks that a URL is http: and returns it parsed. */
export function parseHttpUrl(url: string | URL): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidArgumentError("url", url, "an http:// URL such as http://127.0.0.1:7200/");
  }
  if (parsed.protocol !== "http:") throw new InvalidArgumentError("url", url, "an http:// URL");
  return parsed;
}

/**
 * An http(s) URL as a message may show it: without the user name and password it may hold (errors and
 * notices reach logs; before r31 a `http://user:pass@host/` was printed whole).
 */
export function withoutCredentials(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return String(url).replace(/\/\/[^/@]*@/, "//***@");
  }
  if (parsed.username === "" && parsed.password === "") return parsed.href;
  parsed.username = "";
  parsed.password = "";
  return parsed.href.replace("//", "//***@");
}

function outcomeOf(url: string, method: string, response: unknown): RpcOutcome {
  if (typeof response !== "object" || response === null) {
    return { ok: false, error: new RemoteError(method, 0, `no response for this call from ${url}`) };
  }
  const { result, error } = response as { result?: unknown; error?: { code?: unknown; message?: unknown; data?: unknown } };
  if (error !== undefined && error !== null) {
    const code = typeof error.code === "number" ? error.code : 0;
    return {
      ok: false,
      error: new RemoteError(method, code, typeof error.message === "string" ? error.message : "(no message)", error.data),
    };
  }
  return { ok: true, result };
}

// Keeps `req` among the endpoint's pending requests until it closes (its deadline then stopped): close()
// ends each, rejecting its caller.
function track(
  pending: Map<ClientRequest, (error: Error) => void>,
  req: ClientRequest,
  deadline: LongTimer,
  reject: (error: Error) => void,
): void {
  pending.set(req, (error) => {
    deadline.clear();
    reject(error);
    req.destroy(error);
  });
  req.on("close", () => {
    deadline.clear();
    pending.delete(req);
  });
}
