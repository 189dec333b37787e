import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { anySignal } from "../../lib/abort-watch.js";
import type { Bus } from "../../lib/bus.js";
import { defaultBus } from "../../lib/default-bus.js";
import { InvalidArgumentError } from "../../lib/errors.js";
import { isPlainObject } from "../../lib/kwargs.js";
import { checkDuration, checkTimerDelay } from "../../lib/long-timer.js";
import { BridgeState, MAX_TTL, type PeerEnd } from "./bridge-state.js";
import { BridgeErrorCode } from "./error-codes.js";
import { parseExactJson } from "./exact-json.js";
import { toRpcError } from "./fault.js";
import { readBody } from "./http-body.js";
import type { PeerLinkDefaults } from "./legacy-peer-link.js";
import {
  type Deliverer,
  LinkStream,
  peerProof,
  STREAM_FRAME_HEADER,
  STREAM_NONCE_HEADER,
  STREAM_PROOF_HEADER,
  STREAM_PROTOCOL,
  STREAM_PROTOCOL_2,
  STREAM_PROTOCOL_3,
  STREAM_TOKEN_HEADER,
  streamProtocolOf,
  streamVersionOf,
} from "./link-stream.js";
import type { PeerHost, PeerLink } from "./peer-link.js";
import { errorAnswer, type RouterAnswer, routeRequest } from "./request-router.js";
import { createRpcServer } from "./rpc-methods.js";
import { checkAllowedOrigin, corsHeaders, grantPreflight, refuseWebRequest } from "./web-guard.js";

/** Options of a bridge server. */
export interface BridgeServerOptions {
  /** The bus messages are delivered to and taken from (default: `defaultBus`). */
  bus?: Bus;
  /** Address to listen on (default `127.0.0.1`; nothing listens beyond it unless asked). */
  host?: string;
  /** Port (default 0: the OS picks a free one; see `port` after start). */
  port?: number;
  /** Shared secret: requests without `Authorization: Bearer <secret>` get HTTP 401. */
  secret?: string;
  /** Largest request body in bytes; larger ones get HTTP 413 and a PayloadTooLarge error (default 1 MiB). */
  maxBodySize?: number;
  /** Filters of queues the server owns from the start: clients pulling that filter share what they collect. */
  queues?: readonly string[];
  /** Options of the links the server opens back to peers, both wire forms (buffer size, retry, filters, and their calls' `timeout` and `maxAnswerSize`). */
  peerLink?: PeerLinkDefaults;
  /** Secret the server's links back to peers send, when the peers' servers require one. */
  peerSecret?: string;
  /** How often idle tokens are checked for expiry, in ms (default 1,000). */
  sweepInterval?: number;
  /** Web origins allowed to call (exact `Origin` values, e.g. `https://app.example`); default none: any request carrying an `Origin` header gets HTTP 403. */
  allowOrigins?: readonly string[];
  /** Host names accepted in the `Host` header besides IP literals and `localhost` (DNS-rebinding guard; default none). */
  allowHosts?: readonly string[];
  /** Hosts `interconnect` may link back to besides loopback (default none); such peers need a `secret`. */
  peerHosts?: readonly string[];
  /** Most open tokens (default 10,000); one more answers LimitExceeded. */
  maxSessions?: number;
  /** Most open links back to peers that called interconnect, among the tokens (default 100); one more answers LimitExceeded. */
  maxPeers?: number;
  /** Idle seconds after which a token asked for without a ttl (null, 0) expires (default 300). */
  defaultTtl?: number;
  /** Most messages a queue session holds; older ones are kept, newer ones dropped and reported (default 1,000). */
  queueSize?: number;
  /** Most characters of JSON (args and kwargs) a queue session holds, as `queueSize` does messages (default 16 MiB). */
  queueBytes?: number;
  /**
   * Most characters of JSON (counted as `queueBytes` counts them) all the server's queues hold together:
   * its queue sessions and the queues it owns (default 256 Mi). Past it, a message a queue would buffer is
   * dropped and reported as a session's queue past its `queueBytes` (a waiting `get` still takes it).
   */
  queueBytesTotal?: number;
  /** Most entries of one JSON-RPC batch (default 1,000); a larger batch answers one LimitExceeded error. */
  maxBatch?: number;
  /** Most open HTTP connections (default 256); further ones are closed at once. */
  maxConnections?: number;
  /**
   * Most `get` long-polls waiting at once (default half of maxConnections, 128): one more answers
   * LimitExceeded at once, so that clients waiting for messages cannot take every connection.
   */
  maxWaitingGets?: number;
  /**
   * Most `get` long-polls waiting at once on one token (default 8): one more answers LimitExceeded at
   * once, so that one client cannot hold all of `maxWaitingGets` and lock every other client's out.
   */
  maxWaitingGetsPerSession?: number;
  /** Ms to receive a request's headers (default 5,000). */
  headersTimeout?: number;
  /** Ms to receive a whole request, body included (default 10,000; long-polls wait on the answer, not here). */
  requestTimeout?: number;
  /** Ms a client may take none of an answer being sent before its connection is cut (default 10,000). */
  responseTimeout?: number;
  /** Ms an idle kept-alive connection stays open (default 5,000). */
  keepAliveTimeout?: number;
  /** Requests served on one kept-alive connection before it is closed (default 10,000). */
  maxRequestsPerSocket?: number;
  /** Ms within which a message seen going to or coming from a berryMQ 0.3 peer is recognised when it comes back (default 2,000). */
  legacyEchoWindow?: number;
}

const JSON_HEADERS = { "content-type": "application/json" };

/** Why an upgrade to a link stream was refused. */
interface StreamRefusal {
  status: number;
  code: BridgeErrorCode;
  message: string;
}

/** The defaults of every bound of a bridge server (see {@link BridgeServerOptions}). */
export const SERVER_DEFAULTS = Object.freeze({
  maxBodySize: 1024 * 1024,
  maxSessions: 10_000,
  maxPeers: 100,
  defaultTtl: 300,
  queueSize: 1_000,
  queueBytes: 16 * 1024 * 1024,
  queueBytesTotal: 256 * 1024 * 1024,
  maxBatch: 1_000,
  maxConnections: 256,
  headersTimeout: 5_000,
  requestTimeout: 10_000,
  responseTimeout: 10_000,
  keepAliveTimeout: 5_000,
  maxRequestsPerSocket: 10_000,
  legacyEchoWindow: 2_000,
  maxWaitingGetsPerSession: 8,
});

/**
 * An HTTP JSON-RPC bridge server: berryMQ 0.3's JSON-RPC 1.0 methods and berrymq's JSON-RPC 2.0 methods
 * (with batches) on `/` and `/JSON`, for peers (style 01), send-only clients (02) and queue clients (03).
 * Every request is answered inside one catch (a failure answers -32603, the server keeps serving); what a
 * browser could send cross-site is refused; every table and buffer is bounded. Start it with {@link serve}.
 */
export class BridgeServer implements PeerHost {
  readonly bus: Bus;
  readonly #http: Server;
  readonly #state: BridgeState;
  readonly #rpc: ReturnType<typeof createRpcServer>;
  readonly #secret: Buffer | undefined;
  // The peers' secret (its SHA-256), to answer a stream's challenge with.
  readonly #peerSecret: Buffer | undefined;
  readonly #maxBody: number;
  readonly #maxBatch: number;
  readonly #responseTimeout: number;
  readonly #host: string;
  readonly #allowOrigins: ReadonlySet<string>;
  readonly #allowHosts: ReadonlySet<string>;
  readonly #closing = new AbortController();
  readonly #streams = new Set<LinkStream>();
  // Each request until its answer is sent or its connection closes → the socket's bytesWritten at the
  // last sweep (-1 before any).
  readonly #answering = new Map<ServerResponse, number>();
  // The answers counted against queueBytesTotal (see BridgeState.holdAnswer) → what gives their count back.
  readonly #held = new Map<ServerResponse, () => void>();
  // The requests being answered → what ends their long-polls when the client hangs up.
  readonly #hangUps = new Map<ServerResponse, { hangUp: AbortController; release: () => void }>();
  // Each connection's requests not yet closed. A pipelined answer still queued behind another when its
  // connection dies never emits 'close' (Node 20): the connection's 'close' ends them.
  readonly #open = new WeakMap<Socket, Set<ServerResponse>>();
  readonly #sweeper: NodeJS.Timeout;
  #closed: Promise<void> | undefined;

  /** @internal use {@link serve}. */
  constructor(http: Server, options: BridgeServerOptions) {
    this.bus = options.bus ?? defaultBus;
    this.#http = http;
    this.#host = options.host ?? "127.0.0.1";
    this.#maxBody = count("maxBodySize", options.maxBodySize, SERVER_DEFAULTS.maxBodySize);
    this.#maxBatch = count("maxBatch", options.maxBatch, SERVER_DEFAULTS.maxBatch);
    this.#responseTimeout = checkTimerDelay("responseTimeout", options.responseTimeout ?? SERVER_DEFAULTS.responseTimeout);
    if (options.secret !== undefined && (typeof options.secret !== "string" || options.secret === "")) {
      throw new InvalidArgumentError("secret", options.secret, "a non-empty string");
    }
    this.#secret = options.secret === undefined ? undefined : digest(options.secret);
    this.#peerSecret = options.peerSecret === undefined ? undefined : digest(options.peerSecret);
    this.#allowOrigins = new Set((options.allowOrigins ?? []).map(checkAllowedOrigin));
    this.#allowHosts = new Set((options.allowHosts ?? []).map((host) => host.toLowerCase()));
    const defaultTtl = options.defaultTtl ?? SERVER_DEFAULTS.defaultTtl;
    if (typeof defaultTtl !== "number" || !(defaultTtl > 0) || !(defaultTtl <= MAX_TTL))
      throw new InvalidArgumentError("defaultTtl", options.defaultTtl, `seconds > 0 and at most ${MAX_TTL}`);
    this.#state = new BridgeState({
      bus: this.bus,
      queues: options.queues ?? [],
      sweepInterval: checkTimerDelay("sweepInterval", options.sweepInterval ?? 1_000),
      peerLink: options.peerLink ?? {},
      peerSecret: options.peerSecret,
      peerHosts: options.peerHosts ?? [],
      secured: options.secret !== undefined,
      maxSessions: count("maxSessions", options.maxSessions, SERVER_DEFAULTS.maxSessions),
      maxPeers: count("maxPeers", options.maxPeers, SERVER_DEFAULTS.maxPeers),
      defaultTtl,
      queueSize: count("queueSize", options.queueSize, SERVER_DEFAULTS.queueSize),
      queueBytes: count("queueBytes", options.queueBytes, SERVER_DEFAULTS.queueBytes),
      queueBytesTotal: count("queueBytesTotal", options.queueBytesTotal, SERVER_DEFAULTS.queueBytesTotal),
      maxWaitingGets: count("maxWaitingGets", options.maxWaitingGets, Math.max(1, Math.floor(http.maxConnections / 2))),
      maxWaitingGetsPerSession: count(
        "maxWaitingGetsPerSession",
        options.maxWaitingGetsPerSession,
        SERVER_DEFAULTS.maxWaitingGetsPerSession,
      ),
      legacyEchoWindow: checkDuration("legacyEchoWindow", options.legacyEchoWindow ?? SERVER_DEFAULTS.legacyEchoWindow),
      maxBatch: this.#maxBatch,
    });
    this.#rpc = createRpcServer(this.#state);
    this.#sweeper = setInterval(() => this.#cutStalled(), this.#responseTimeout);
    this.#sweeper.unref();
    http.on("connection", (socket: Socket) => {
      const open = new Set<ServerResponse>();
      this.#open.set(socket, open);
      socket.once("close", () => {
        for (const res of open) this.#ended(res);
        open.clear();
      });
    });
    http.on("request", (req: IncomingMessage, res: ServerResponse) => {
      this.#answering.set(res, -1);
      const open = this.#open.get(req.socket);
      open?.add(res);
      res.once("close", () => {
        open?.delete(res);
        this.#ended(res);
      });
      this.#handle(req, res).catch((error: unknown) => this.#failed(res, error));
    });
    http.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => this.#upgrade(req, socket, head));
  }

  /** Largest request body (and link-stream frame) it takes, in bytes. */
  get maxBodySize(): number {
    return this.#maxBody;
  }

  /**
   * @internal whether the far server of a stream this server's peer link opened may write on it: yes when
   * this server has no secret (anyone may POST here), else only with the proof that it holds the secret.
   */
  verifiesPeer(nonce: string, proof: string | undefined): boolean {
    if (this.#secret === undefined) return true;
    if (proof === undefined) return false;
    const expected = Buffer.from(peerProof(this.#secret, nonce));
    const given = Buffer.from(proof);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /**
   * @internal answers a JSON-RPC body that came over a link stream, as a POST body is answered; `signal`
   * ends long-polls when the stream closes.
   */
  answer(payload: unknown, signal: AbortSignal): RouterAnswer | PromiseLike<RouterAnswer> {
    return this.#route(payload, signal);
  }

  /**
   * @internal takes a batch that came over a version 2 link stream, sent with `token`, as
   * `berrymq.sendAll` would: checks it (throws RpcFault for a lost token or too many envelopes) and
   * returns what delivers its envelopes `start` to `end`.
   */
  take(token: string, envelopes: unknown[]): Deliverer {
    return this.#state.takeAll(token, envelopes);
  }

  /** The port it listens on. */
  get port(): number {
    return (this.#http.address() as AddressInfo).port;
  }

  /** Its URL, e.g. `http://127.0.0.1:7200/`. */
  get url(): string {
    const host = this.#host.includes(":") ? `[${this.#host}]` : this.#host === "0.0.0.0" ? "127.0.0.1" : this.#host;
    return `http://${host}:${this.port}/`;
  }

  /** Filters of the queues the server owns. */
  get queues(): readonly string[] {
    return this.#state.queueFilters;
  }

  /** Number of open connections (tokens). */
  get connections(): number {
    return this.#state.sessions.size;
  }

  /** @internal routes a local PeerLink's incoming messages. */
  attachPeer(token: string, link: PeerLink): void {
    this.#state.attachPeer(token, link as PeerEnd);
  }

  /** @internal */
  detachPeer(token: string): void {
    void this.#state.sessions.close(token);
  }

  /**
   * Stops listening, ends pending long-polls (they answer QueueClosed), closes every connection's queue
   * and link back (flushing them) and the server's own queues, and closes the sockets. Leaves no handle open.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      const stopped = new Promise<void>((resolve) => this.#http.close(() => resolve()));
      this.#state.closing = true;
      this.#closing.abort();
      clearInterval(this.#sweeper);
      await this.#state.close();
      // Upgraded connections are no longer the HTTP server's to close.
      for (const stream of this.#streams) stream.close("server closing");
      this.#http.closeIdleConnections();
      // Requests still running have had their long-polls aborted; give their answers a moment, then cut.
      const cut = setTimeout(() => this.#http.closeAllConnections(), 200);
      await stopped;
      clearTimeout(cut);
    })();
    return this.#closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // An allow-listed page may read every answer (refusals say why); any other page reads none.
    const cors = corsHeaders(req.headers, this.#allowOrigins);
    if (cors !== undefined) for (const [name, value] of Object.entries(cors)) res.setHeader(name, value);
    // A kept-alive socket can still carry requests while close() runs: none is taken, each socket is told
    // to close.
    if (this.#closed !== undefined) {
      req.resume();
      res.setHeader("connection", "close");
      return reply(res, 503, errorBody(BridgeErrorCode.ServerClosing, "the server is closing: it takes no new request"));
    }
    const path = (req.url ?? "/").split("?")[0] ?? "";
    if (path !== "/" && path !== "/JSON") {
      req.resume();
      const shown = path.length > 80 ? `${path.slice(0, 77)}...` : path;
      return reply(
        res,
        404,
        errorBody(BridgeErrorCode.InvalidRequest, `no JSON-RPC endpoint at ${JSON.stringify(shown)}: use / or /JSON`),
      );
    }
    if (req.method === "OPTIONS" && cors !== undefined) {
      const grant = grantPreflight(req.headers, this.#allowOrigins, this.#allowHosts);
      if (grant !== undefined) {
        req.resume();
        res.writeHead(204, grant).end();
        return;
      }
    }
    if (req.method !== "POST") {
      req.resume();
      res.setHeader("allow", "POST");
      return reply(
        res,
        405,
        errorBody(
          BridgeErrorCode.InvalidRequest,
          `method ${JSON.stringify((req.method ?? "?").slice(0, 20))} not allowed: POST a JSON-RPC request`,
        ),
      );
    }
    const refusal = refuseWebRequest(req.headers, this.#allowOrigins, this.#allowHosts);
    if (refusal !== undefined) {
      req.resume();
      res.setHeader("connection", "close");
      return reply(res, refusal.status, errorBody(BridgeErrorCode.Forbidden, refusal.message));
    }
    if (this.#secret !== undefined && !this.#authorized(req)) {
      req.resume();
      res.setHeader("www-authenticate", 'Bearer realm="berrymq"');
      return reply(
        res,
        401,
        errorBody(BridgeErrorCode.Unauthorized, "unauthorized: send the server's secret as Authorization: Bearer <secret>"),
      );
    }
    const body = await readBody(req, this.#maxBody);
    if (!body.ok) {
      if (!body.tooLarge) return void res.destroy();
      // What is left of the body is read and thrown away (never buffered); then the socket is closed.
      req.resume();
      res.setHeader("connection", "close");
      return reply(res, 413, errorBody(BridgeErrorCode.PayloadTooLarge, `request body larger than ${this.#maxBody} bytes`));
    }
    const parsed = parseExactJson(body.text);
    if (!parsed.ok) {
      const code = parsed.parseError ? BridgeErrorCode.ParseError : BridgeErrorCode.InexactNumber;
      // Not decoded (or not trusted): the answer's form follows what the body looks like.
      return reply(res, 200, JSON.stringify(errorAnswer(body.text.includes('"jsonrpc"'), code, parsed.message)));
    }
    const payload = parsed.value;
    // Nobody to answer once the connection is gone. Later, #ended aborts the call when the client hangs up
    // (res 'close' alone left a long-poll queued behind another answer waiting for good, holding its
    // waiting-get slots and its token).
    if (res.destroyed || req.socket.destroyed) return;
    const hangUp = new AbortController();
    // Released when the request ends (see anySignal: AbortSignal.any grew #closing by one per request).
    const { signal, release } = anySignal([hangUp.signal, this.#closing.signal]);
    this.#hangUps.set(res, { hangUp, release });
    // A request with an Origin came from a web page (an allowed one: others were refused above).
    const answer = await this.#route(payload, signal, req.headers.origin !== undefined);
    // A queued pipelined answer is not destroyed with its connection: nobody would take it (nor end it).
    if (res.destroyed || req.socket.destroyed) return;
    if (this.#closed !== undefined) res.setHeader("connection", "close");
    if (answer === null) {
      res.writeHead(204).end();
      return;
    }
    const text = JSON.stringify(answer);
    this.#held.set(res, this.#state.holdAnswer(text.length));
    sendInPieces(res, text);
  }

  // A request's answer closed, or its connection did: it is no longer being sent, nor counted, nor waited for.
  #ended(res: ServerResponse): void {
    const call = this.#hangUps.get(res);
    this.#hangUps.delete(res);
    if (call !== undefined && !res.writableFinished) call.hangUp.abort(new Error("client hung up"));
    call?.release();
    this.#answering.delete(res);
    this.#held.get(res)?.();
    this.#held.delete(res);
  }

  // What a decoded body gets, over POST or a link stream.
  #route(payload: unknown, signal: AbortSignal, fromPage = false): RouterAnswer | PromiseLike<RouterAnswer> {
    if (Array.isArray(payload) && payload.length > this.#maxBatch) {
      const why = `batch of ${payload.length} entries: at most ${this.#maxBatch} (the maxBatch option)`;
      return errorAnswer(true, BridgeErrorCode.LimitExceeded, why);
    }
    // maxBatch bounds the entries and each sendAll's envelopes, but not their product: a 1 MiB batch of
    // sendAll calls held 500,000 two-byte envelopes, answered with ~60 MB of errors after seconds of work.
    const envelopes = Array.isArray(payload) ? batchEnvelopes(payload) : 0;
    if (envelopes > this.#maxBatch) {
      const why = `batch of ${envelopes} berrymq.sendAll envelopes: at most ${this.#maxBatch} in all (the maxBatch option)`;
      return errorAnswer(true, BridgeErrorCode.LimitExceeded, why);
    }
    return routeRequest(this.#rpc, this.#state, payload, { signal, fromPage });
  }

  // `Upgrade: berrymq-link/1` from a berrymq peer that interconnected: the connection becomes the stream
  // of its link (see LinkStream). Any other upgrade (a browser's WebSocket among them) is refused with an
  // HTTP error and the socket closed.
  #upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    const refusal = this.#openStream(req, socket, head);
    if (refusal === undefined) return;
    const body = errorBody(refusal.code, refusal.message);
    const status = `${refusal.status} ${STATUS_CODES[refusal.status] ?? ""}`;
    const headers = `connection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}`;
    socket.end(`HTTP/1.1 ${status}\r\n${headers}\r\n\r\n${body}`);
    socket.destroySoon();
  }

  // Everything a POST must pass, an upgrade passes too (Origin, content type, Host, secret), and its token
  // must be one this server issued to a peer in `interconnect`. Returns why not, or opens the stream.
  #openStream(req: IncomingMessage, socket: Socket, head: Buffer): StreamRefusal | undefined {
    if (this.#closed !== undefined)
      return { status: 503, code: BridgeErrorCode.ServerClosing, message: "the server is closing: it takes no new request" };
    const path = (req.url ?? "/").split("?")[0] ?? "";
    // The newest version the opener offers (an older berrymq offers only berrymq-link/1).
    const version = streamVersionOf(req.headers.upgrade);
    if ((path !== "/" && path !== "/JSON") || req.method !== "GET" || version === undefined) {
      const message = `only Upgrade: ${STREAM_PROTOCOL_3}, ${STREAM_PROTOCOL_2} or ${STREAM_PROTOCOL} (GET / from a berrymq peer) is served`;
      return { status: 400, code: BridgeErrorCode.InvalidRequest, message };
    }
    const refusal = refuseWebRequest(req.headers, this.#allowOrigins, this.#allowHosts);
    if (refusal !== undefined) return { ...refusal, code: BridgeErrorCode.Forbidden };
    if (this.#secret !== undefined && !this.#authorized(req)) {
      const message = "unauthorized: send the server's secret as Authorization: Bearer <secret>";
      return { status: 401, code: BridgeErrorCode.Unauthorized, message };
    }
    const farMaxFrame = Number(req.headers[STREAM_FRAME_HEADER]);
    if (!Number.isInteger(farMaxFrame) || farMaxFrame < 1) {
      return { status: 400, code: BridgeErrorCode.InvalidRequest, message: `${STREAM_FRAME_HEADER} must be a positive integer` };
    }
    const token = req.headers[STREAM_TOKEN_HEADER];
    // Called by the link back only if it takes a stream: then the stream is built and the upgrade answered.
    // Its batches (version 2) are sent with the token it was opened with, checked again on each.
    const open = (): LinkStream => {
      const stream = new LinkStream(socket, head, {
        name: `stream from ${socket.remoteAddress ?? "?"}`,
        maxFrame: this.#maxBody,
        farMaxFrame,
        answer: (payload, signal) => this.answer(payload, signal),
        signal: this.#closing.signal,
        version,
        take: (envelopes) => this.take(token as string, envelopes),
      });
      this.#streams.add(stream);
      stream.onClose(() => this.#streams.delete(stream));
      const nonce = req.headers[STREAM_NONCE_HEADER];
      const proof =
        this.#peerSecret !== undefined && typeof nonce === "string" && nonce.length <= 128
          ? `\r\n${STREAM_PROOF_HEADER}: ${peerProof(this.#peerSecret, nonce)}`
          : "";
      const headers = `connection: Upgrade\r\nupgrade: ${streamProtocolOf(version)}\r\n${STREAM_FRAME_HEADER}: ${this.#maxBody}${proof}`;
      socket.write(`HTTP/1.1 101 Switching Protocols\r\n${headers}\r\n\r\n`);
      return stream;
    };
    try {
      if (this.#state.attachStream(token, open)) return undefined;
    } catch (error) {
      const { code, message } = toRpcError(error);
      return { status: 403, code, message };
    }
    const message = "only a peer link this server accepted (interconnect) may open a stream";
    return { status: 403, code: BridgeErrorCode.WrongConnection, message };
  }

  // A client that stops reading held its connection, and the answer buffered for it, for good: Node's
  // timeouts cover receiving a request and idle keep-alive, not sending an answer. Every answer being
  // sent must have moved on (see sendInPieces) since the last sweep, or its connection is cut. Requests
  // still waiting for their answer (long-polls) have sent no headers and are left alone.
  #cutStalled(): void {
    for (const [res, mark] of this.#answering) {
      const socket = res.socket;
      // A pipelined answer waits for the socket behind the one being sent, which is judged instead.
      if (!res.headersSent || socket === null) continue;
      const sent = socket.bytesWritten;
      if (sent === mark) res.destroy();
      else this.#answering.set(res, sent);
    }
  }

  // Whatever escaped: the client hears -32603 and the server keeps serving.
  #failed(res: ServerResponse, error: unknown): void {
    if (res.headersSent || res.destroyed) return void res.destroy();
    const message = error instanceof Error ? error.message.slice(0, 200) : "unexpected failure";
    try {
      reply(res, 200, errorBody(BridgeErrorCode.InternalError, `internal error: ${message}`));
    } catch {
      res.destroy();
    }
  }

  #authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization;
    // The scheme is case-insensitive (RFC 7235 §2.1): `bearer` and `BEARER` are Bearer too.
    if (typeof header !== "string" || header.length < 7 || header.slice(0, 7).toLowerCase() !== "bearer ") return false;
    return timingSafeEqual(digest(header.slice(7)), this.#secret as Buffer);
  }
}

/**
 * Starts a bridge server and resolves once it listens (on 127.0.0.1 and a free port unless told).
 * @example
 * const server = await serve({ bus, port: 7200, queues: ["task:*"] });
 * console.log(server.url); // http://127.0.0.1:7200/
 * await server.close();
 */
export async function serve(options: BridgeServerOptions = {}): Promise<BridgeServer> {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new InvalidArgumentError("port", options.port, "an integer from 0 to 65535");
  const headersTimeout = count("headersTimeout", options.headersTimeout, SERVER_DEFAULTS.headersTimeout);
  const http = createServer({
    keepAliveTimeout: count("keepAliveTimeout", options.keepAliveTimeout, SERVER_DEFAULTS.keepAliveTimeout),
    headersTimeout,
    requestTimeout: Math.max(headersTimeout, count("requestTimeout", options.requestTimeout, SERVER_DEFAULTS.requestTimeout)),
    // Node checks the two timeouts above this often (its default, 30 s, would let slow sockets pile up).
    connectionsCheckingInterval: Math.min(1_000, headersTimeout),
  });
  http.maxConnections = count("maxConnections", options.maxConnections, SERVER_DEFAULTS.maxConnections);
  http.maxRequestsPerSocket = count("maxRequestsPerSocket", options.maxRequestsPerSocket, SERVER_DEFAULTS.maxRequestsPerSocket);
  const server = new BridgeServer(http, options);
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(port, options.host ?? "127.0.0.1", () => {
      http.off("error", reject);
      resolve();
    });
  }).catch(async (error: unknown) => {
    await server.close();
    throw error;
  });
  return server;
}

function reply(res: ServerResponse, status: number, body: string): void {
  // A known length spares chunked encoding (and lets pipelining clients find each answer's end).
  res.writeHead(status, { ...JSON_HEADERS, "content-length": Buffer.byteLength(body) }).end(body);
}

// Large answers go in pieces, each once the socket took the last: one write of many megabytes makes no
// progress Node can see until all of it is taken, and a slow reader would look like one that stopped.
const PIECE = 64 * 1024;

function sendInPieces(res: ServerResponse, body: string): void {
  if (body.length <= PIECE / 3) {
    reply(res, 200, body);
    return;
  }
  const bytes = Buffer.from(body, "utf8");
  res.writeHead(200, { ...JSON_HEADERS, "content-length": bytes.length });
  let at = 0;
  const next = (): void => {
    while (!res.destroyed) {
      const end = Math.min(at + PIECE, bytes.length);
      const piece = bytes.subarray(at, end);
      at = end;
      if (at === bytes.length) {
        res.end(piece);
        return;
      }
      if (!res.write(piece)) {
        res.once("drain", next);
        return;
      }
    }
  };
  next();
}

// How many envelopes the `berrymq.sendAll` entries of a batch carry together (each is checked alone too).
function batchEnvelopes(batch: unknown[]): number {
  let total = 0;
  for (const item of batch) {
    if (!isPlainObject(item) || item.method !== "berrymq.sendAll" || !isPlainObject(item.params)) continue;
    const { envelopes } = item.params;
    if (Array.isArray(envelopes)) total += envelopes.length;
  }
  return total;
}

function errorBody(code: BridgeErrorCode, message: string): string {
  return JSON.stringify({ jsonrpc: "2.0", id: null, error: { code, message } });
}

function count(name: string, value: number | undefined, fallback: number): number {
  const chosen = value ?? fallback;
  if (!Number.isInteger(chosen) || chosen < 1) throw new InvalidArgumentError(name, value, "an integer >= 1");
  return chosen;
}

// Hashing both sides gives equal lengths, as timingSafeEqual needs, without revealing the secret's.
function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}
