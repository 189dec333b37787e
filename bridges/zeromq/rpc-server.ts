import { EventEmitter } from "eventemitter3";
import * as zmq from "zeromq";
import type { BerryError } from "../../lib/errors.js";
import { InvalidArgumentError } from "../../lib/errors.js";
import { positiveInteger, portNumber } from "./check-options.js";
import { RpcClosedError, RpcPeerLostError, ZmqProtocolError } from "./errors.js";
import { type Procedure, RpcCalls, RpcKind, type RpcOptions } from "./rpc-calls.js";
import { SendQueue } from "./send-queue.js";
import { type ZapDecision, ZapHandler } from "./zap-handler.js";
import { isCurveKey } from "./z85.js";

/** CURVE settings of a server: its key pair and the public keys of the clients it lets in. */
export interface ServerCurve {
  publicKey: string;
  secretKey: string;
  /** Z85 public keys of the allowed clients; any other client is refused during the handshake. */
  allow: readonly string[];
}

/** Options of {@link RpcServer}. */
export interface RpcServerOptions extends RpcOptions {
  /** Address to bind on (default `127.0.0.1`). */
  host?: string;
  /** Port (0 picks a free one). */
  port: number;
  /** Encrypt and authenticate with CURVE. */
  curve?: ServerCurve;
}

/** Events of an RPC server. */
export interface RpcServerEvents {
  /** A client (by identity) was heard from for the first time, or again after it was lost. */
  connect: [identity: string];
  /** A client stopped answering heartbeats; its pending calls failed. */
  disconnect: [identity: string];
  /** A client was refused by the CURVE allow-list. */
  refused: [decision: ZapDecision];
  error: [error: BerryError];
}

/**
 * The server end of the bidirectional RPC (pseud's Server): clients call its procedures, and it calls
 * a connected client's procedures by the client's identity. Heartbeats find dead clients; CURVE with an
 * allow-list keeps out unknown ones.
 * @example
 * const server = await RpcServer.listen({ port: 5555 });
 * server.register("hello", (name) => `Hello ${name}`);
 * const answer = await server.call("worker-1", "status");
 */
export class RpcServer extends EventEmitter<RpcServerEvents> {
  readonly stats = { refused: 0, lost: 0 };
  readonly #calls = new RpcCalls();
  readonly #router: zmq.Router;
  readonly #queue: SendQueue;
  readonly #context: zmq.Context | undefined;
  readonly #peers = new Map<string, number>();
  readonly #callTimeout: number;
  readonly #heartbeatTimeout: number;
  #zap: ZapHandler | undefined;
  #timer: NodeJS.Timeout | undefined;
  #port = 0;
  #closed = false;

  private constructor(options: RpcServerOptions) {
    super();
    this.#callTimeout = positiveInteger("callTimeout", options.callTimeout ?? 5_000);
    const interval = positiveInteger("heartbeatInterval", options.heartbeatInterval ?? 500);
    this.#heartbeatTimeout = positiveInteger("heartbeatTimeout", options.heartbeatTimeout ?? interval * 3);
    const curve = options.curve;
    if (curve !== undefined) {
      if (!isCurveKey(curve.publicKey)) throw new InvalidArgumentError("curve.publicKey", curve.publicKey, "a Z85 CURVE key (40 characters)");
      if (!isCurveKey(curve.secretKey)) throw new InvalidArgumentError("curve.secretKey", "(hidden)", "a Z85 CURVE key (40 characters)");
      for (const key of curve.allow) if (!isCurveKey(key)) throw new InvalidArgumentError("curve.allow[]", key, "a Z85 CURVE public key");
      // Its own context, so that its ZAP handler (and allow-list) is not shared with other sockets.
      this.#context = new zmq.Context();
    }
    this.#router = new zmq.Router({
      linger: 0,
      mandatory: true, // a call to an unknown identity fails at once instead of vanishing
      ...(this.#context === undefined ? {} : { context: this.#context }),
      ...(curve === undefined ? {} : { curveServer: true, curvePublicKey: curve.publicKey, curveSecretKey: curve.secretKey, zapDomain: "berrymq" }),
    });
    this.#queue = new SendQueue(this.#router);
    this.#timer = setInterval(() => this.#checkPeers(), interval);
  }

  /**
   * Binds the server and starts serving.
   * @throws InvalidArgumentError for bad options or keys; a zeromq error when the port is taken.
   */
  static async listen(options: RpcServerOptions): Promise<RpcServer> {
    portNumber("port", options.port);
    const server = new RpcServer(options);
    try {
      if (options.curve !== undefined && server.#context !== undefined) {
        server.#zap = await ZapHandler.start(server.#context, options.curve.allow, (decision) => {
          if (decision.allowed) return;
          server.stats.refused++;
          server.emit("refused", decision);
        });
      }
      await server.#router.bind(`tcp://${options.host ?? "127.0.0.1"}:${options.port === 0 ? "*" : options.port}`);
      const endpoint = server.#router.lastEndpoint ?? "";
      server.#port = Number(endpoint.slice(endpoint.lastIndexOf(":") + 1));
    } catch (error) {
      server.close();
      throw error;
    }
    void server.#serve();
    return server;
  }

  /** The bound port. */
  get port(): number {
    return this.#port;
  }

  /** Identities of the clients heard from and not lost. */
  get clients(): string[] {
    return [...this.#peers.keys()];
  }

  /** Registers a procedure clients may call. */
  register(name: string, fn: Procedure): this {
    this.#calls.register(name, fn);
    return this;
  }

  /**
   * Calls procedure `name` of the client with that identity.
   * @throws RpcRemoteError (the client's procedure threw), RpcMethodNotFoundError, RpcTimeoutError,
   * RpcPeerLostError (the client is not connected or died during the call), RpcClosedError.
   */
  call(identity: string, name: string, ...args: unknown[]): Promise<unknown> {
    if (this.#closed) return Promise.reject(new RpcClosedError("RPC server"));
    if (!this.#peers.has(identity)) return Promise.reject(new RpcPeerLostError(identity, this.#heartbeatTimeout));
    return this.#calls.call(identity, name, args, this.#callTimeout, (json) => this.#queue.send([identity, RpcKind.rpc, json]));
  }

  /** Closes the socket (linger 0) and the ZAP handler; pending calls fail with RpcClosedError. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#calls.fail(undefined, new RpcClosedError("RPC server"));
    this.#router.close();
    this.#zap?.close();
  }

  async #serve(): Promise<void> {
    try {
      for await (const [identityFrame, kind, body] of this.#router) {
        const identity = identityFrame?.toString() ?? "";
        if (!this.#peers.has(identity)) this.emit("connect", identity);
        this.#peers.set(identity, Date.now());
        if (kind?.toString() === RpcKind.heartbeat) {
          this.#queue.send([identity, RpcKind.heartbeat]).catch(() => undefined);
        } else if (kind?.toString() === RpcKind.rpc && body !== undefined) {
          void this.#calls.handle(identity, body.toString(), (json) => this.#queue.send([identity, RpcKind.rpc, json])).catch(() => undefined);
        } else {
          this.#report(new ZmqProtocolError(`RPC frame from ${JSON.stringify(identity)} of unknown kind`, kind?.toString()));
        }
      }
    } catch (error) {
      if (!this.#closed) this.#report(new ZmqProtocolError("RPC receive loop failed:", String(error)));
    }
  }

  #checkPeers(): void {
    const cutoff = Date.now() - this.#heartbeatTimeout;
    for (const [identity, lastSeen] of this.#peers) {
      if (lastSeen >= cutoff) continue;
      this.#peers.delete(identity);
      this.stats.lost++;
      this.#calls.fail(identity, new RpcPeerLostError(identity, Date.now() - lastSeen));
      this.emit("disconnect", identity);
    }
  }

  #report(error: BerryError): void {
    if (!this.emit("error", error)) process.emitWarning(error);
  }
}
