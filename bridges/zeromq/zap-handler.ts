import * as zmq from "zeromq";
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
  readonly #authenticate: Authenticate;
  readonly #onDecision: (decision: ZapDecision) => void;

  private constructor(context: zmq.Context, authenticate: Authenticate, onDecision: (decision: ZapDecision) => void) {
    this.#router = new zmq.Router({ context, linger: 0 });
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
      for await (const frames of this.#router) {
        // [routing id, "", version, request id, domain, address, identity, mechanism, ...credentials]
        const [peer, empty, , requestId, , addressFrame, , mechanismFrame, first, second] = frames;
        if (peer === undefined || empty === undefined || requestId === undefined) continue;
        const decision = await this.#decide(mechanismFrame?.toString() ?? "", addressFrame?.toString() ?? "", first, second);
        this.#onDecision(decision);
        await this.#router.send([
          peer,
          empty,
          "1.0",
          requestId,
          decision.allowed ? "200" : "400",
          decision.allowed ? "OK" : (decision.reason ?? REFUSED),
          decision.userId ?? "",
          "",
        ]);
      }
    } catch (error) {
      // Closing the socket ends the loop with an error: that is the normal way out.
      if (!this.#router.closed) throw error;
    }
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
