import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Bus } from "../../lib/bus.js";
import { defaultBus } from "../../lib/default-bus.js";
import { InvalidArgumentError } from "../../lib/errors.js";
import type { LinkOptions } from "../link.js";
import { BridgeState, type PeerEnd } from "./bridge-state.js";
import { BridgeErrorCode } from "./error-codes.js";
import { readBody } from "./http-body.js";
import type { PeerHost, PeerLink } from "./peer-link.js";
import { parseErrorAnswer, routeRequest } from "./request-router.js";
import { createRpcServer } from "./rpc-methods.js";

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
  /** Options of the links the server opens back to peers (buffer size, retry, filters). */
  peerLink?: LinkOptions;
  /** Secret the server's links back to peers send, when the peers' servers require one. */
  peerSecret?: string;
  /** How often idle tokens are checked for expiry, in ms (default 1,000). */
  sweepInterval?: number;
}

const JSON_HEADERS = { "content-type": "application/json" };

/**
 * An HTTP JSON-RPC bridge server: berryMQ 0.3's JSON-RPC 1.0 methods and berrymq's JSON-RPC 2.0 methods
 * (with batches) on `/` and `/JSON`, for peers (style 01), send-only clients (02) and queue clients (03).
 * Start it with {@link serve}.
 */
export class BridgeServer implements PeerHost {
  readonly bus: Bus;
  readonly #http: Server;
  readonly #state: BridgeState;
  readonly #rpc: ReturnType<typeof createRpcServer>;
  readonly #secret: Buffer | undefined;
  readonly #maxBody: number;
  readonly #host: string;
  readonly #closing = new AbortController();
  #closed: Promise<void> | undefined;

  /** @internal use {@link serve}. */
  constructor(http: Server, options: BridgeServerOptions) {
    this.bus = options.bus ?? defaultBus;
    this.#http = http;
    this.#host = options.host ?? "127.0.0.1";
    this.#maxBody = options.maxBodySize ?? 1024 * 1024;
    if (!Number.isInteger(this.#maxBody) || this.#maxBody < 1)
      throw new InvalidArgumentError("maxBodySize", options.maxBodySize, "an integer number of bytes >= 1");
    if (options.secret !== undefined && (typeof options.secret !== "string" || options.secret === "")) {
      throw new InvalidArgumentError("secret", options.secret, "a non-empty string");
    }
    this.#secret = options.secret === undefined ? undefined : digest(options.secret);
    this.#state = new BridgeState({
      bus: this.bus,
      queues: options.queues ?? [],
      sweepInterval: options.sweepInterval ?? 1_000,
      peerLink: options.peerLink ?? {},
      peerSecret: options.peerSecret,
    });
    this.#rpc = createRpcServer(this.#state);
    http.on("request", (req: IncomingMessage, res: ServerResponse) => void this.#handle(req, res));
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
   * Stops listening, ends pending long-polls, closes every connection's queue and link back (flushing
   * them) and the server's own queues, and closes the sockets. Leaves no handle open.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      const stopped = new Promise<void>((resolve) => this.#http.close(() => resolve()));
      this.#closing.abort();
      await this.#state.close();
      this.#http.closeIdleConnections();
      // Requests still running have had their long-polls aborted; give their answers a moment, then cut.
      const cut = setTimeout(() => this.#http.closeAllConnections(), 200);
      await stopped;
      clearTimeout(cut);
    })();
    return this.#closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/" && path !== "/JSON") {
      req.resume();
      return reply(
        res,
        404,
        errorBody(
          BridgeErrorCode.InvalidRequest,
          `no JSON-RPC endpoint at ${JSON.stringify(path?.slice(0, 80))}: use / or /JSON`,
        ),
      );
    }
    if (req.method !== "POST") {
      req.resume();
      res.setHeader("allow", "POST");
      return reply(
        res,
        405,
        errorBody(BridgeErrorCode.InvalidRequest, `method ${req.method ?? "?"} not allowed: POST a JSON-RPC request`),
      );
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
    let payload: unknown;
    try {
      payload = JSON.parse(body.text);
    } catch (error) {
      return reply(res, 200, JSON.stringify(parseErrorAnswer(error instanceof Error ? error.message : "malformed JSON")));
    }
    const hangUp = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) hangUp.abort(new Error("client hung up"));
    });
    const signal = AbortSignal.any([hangUp.signal, this.#closing.signal]);
    const answer = await routeRequest(this.#rpc, this.#state, payload, { signal });
    if (res.destroyed) return;
    if (answer === null) {
      res.writeHead(204).end();
      return;
    }
    reply(res, 200, JSON.stringify(answer));
  }

  #authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization;
    if (typeof header !== "string" || !header.startsWith("Bearer ")) return false;
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
  const http = createServer({ keepAliveTimeout: 5_000 });
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
  res.writeHead(status, JSON_HEADERS).end(body);
}

function errorBody(code: BridgeErrorCode, message: string): string {
  return JSON.stringify({ jsonrpc: "2.0", id: null, error: { code, message } });
}

// Hashing both sides gives equal lengths, as timingSafeEqual needs, without revealing the secret's.
function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}
