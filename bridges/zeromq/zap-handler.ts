import * as zmq from "zeromq";
import { SendQueue } from "./send-queue.js";
import { z85Encode } from "./z85.js";

/** The ZAP mechanisms an RPC server authenticates. */
export type AuthMechanism = "CURVE" | "PLAIN";

/** What a connecting client presented: its CURVE public key, or its PLAIN user name and password. */
export interface Credentials {
  /** The client's IP address. */
  address: string;
  /** CURVE: the client's public key (Z85). */
  publicKey?: string;
  /** PLAIN: the user name. */
  username?: string;
  /** PLAIN: the password. */
  password?: string;
}

/**
 * Decides whether a client gets in: returns its user id (by which the server routes calls to it), or
 * `undefined` to refuse it.
 */
export type Authenticate = (mechanism: AuthMechanism, credentials: Credentials) => string | undefined | Promise<string | undefined>;

/** What the handler decided about one connecting client. */
export interface ZapDecision {
  /** `"CURVE"`, `"PLAIN"`, or what else the client offered. */
  mechanism: string;
  /** The client's CURVE public key (Z85), or `""`. */
  publicKey: string;
  /** The PLAIN user name, when there is one. */
  username?: string;
  /** The client's IP address. */
  address: string;
  allowed: boolean;
  /** The authenticated user id, when allowed. */
  userId?: string;
  /** Why it was refused, when it was. */
  reason?: string;
}

const REFUSED = "credentials refused";

/**
 * A ZAP handler (ZeroMQ RFC 27) for CURVE and PLAIN clients: `authenticate` names the user or refuses.
 * libzmq asks it over `inproc://zeromq.zap.01` of one context, so each server that needs its own
 * decisions gets its own context.
 */
export class ZapHandler {
  readonly #router: zmq.Router;
  readonly #queue: SendQueue;
  readonly #authenticate: Authenticate;
  readonly #onDecision: (decision: ZapDecision) => void;

  private constructor(context: zmq.Context, authenticate: Authenticate, onDecision: (decision: ZapDecision) => void) {
    this.#router = new zmq.Router({ context, linger: 0 });
    this.#queue = new SendQueue(this.#router);
    this.#authenticate = authenticate;
    this.#onDecision = onDecision;
  }

  /** Binds the handler in `context`; it answers until `close()`. */
  static async start(context: zmq.Context, authenticate: Authenticate, onDecision: (decision: ZapDecision) => void): Promise<ZapHandler> {
    const handler = new ZapHandler(context, authenticate, onDecision);
    await handler.#router.bind("inproc://zeromq.zap.01");
    void handler.#serve();
    return handler;
  }

  async #serve(): Promise<void> {
    try {
      // Each request is decided on its own: one slow (or never settling) authenticate must not hold the
      // handshakes of every other client behind it. libzmq routes each reply to its session by routing id.
      for await (const frames of this.#router) void this.#answer(frames);
    } catch (error) {
      // Closing the socket ends the loop with an error: that is the normal way out.
      if (!this.#router.closed) throw error;
    }
  }

  async #answer(frames: Buffer[]): Promise<void> {
    // [routing id, "", version, request id, domain, address, identity, mechanism, ...credentials]
    const [peer, empty, , requestId, , addressFrame, , mechanismFrame, first, second] = frames;
    if (peer === undefined || empty === undefined || requestId === undefined) return;
    const decision = await this.#decide(mechanismFrame?.toString() ?? "", addressFrame?.toString() ?? "", first, second);
    if (this.#router.closed) return;
    this.#onDecision(decision);
    const status = decision.allowed ? ["200", "OK"] : ["400", decision.reason ?? REFUSED];
    // The session may be gone (the client left, or libzmq's handshake timed out): nothing to tell then.
    await this.#queue.send([peer, empty, "1.0", requestId, ...status, decision.userId ?? "", ""]).catch(() => undefined);
  }

  async #decide(mechanism: string, address: string, first: Buffer | undefined, second: Buffer | undefined): Promise<ZapDecision> {
    const decision: ZapDecision = { mechanism, publicKey: "", address, allowed: false };
    const credentials: Credentials = { address };
    if (mechanism === "CURVE" && first?.length === 32) {
      decision.publicKey = z85Encode(first);
      credentials.publicKey = decision.publicKey;
    } else if (mechanism === "PLAIN" && first !== undefined && second !== undefined) {
      decision.username = first.toString();
      credentials.username = decision.username;
      credentials.password = second.toString();
    } else {
      decision.reason = `mechanism ${mechanism || "(none)"} not accepted`;
      return decision;
    }
    let userId: string | undefined;
    try {
      userId = await this.#authenticate(mechanism, credentials);
    } catch (error) {
      decision.reason = `authenticate failed: ${(error as Error).message}`;
      return decision;
    }
    if (typeof userId === "string" && userId.length > 0) {
      decision.allowed = true;
      decision.userId = userId;
    } else {
      decision.reason = mechanism === "CURVE" ? "public key not allowed" : REFUSED;
    }
    return decision;
  }

  /** Unbinds the handler. */
  close(): void {
    this.#router.close();
  }
}
