import * as zmq from "zeromq";
import { z85Encode } from "./z85.js";

/** What the handler decided about one connecting client. */
export interface ZapDecision {
  /** The client's CURVE public key (Z85). */
  publicKey: string;
  /** The client's IP address. */
  address: string;
  allowed: boolean;
}

/**
 * A ZAP handler (ZeroMQ RFC 27) that lets in only CURVE clients whose public key is on the allow-list.
 * libzmq asks it over `inproc://zeromq.zap.01` of one context, so each server that needs its own list
 * gets its own context.
 */
export class ZapHandler {
  readonly #router: zmq.Router;
  readonly #allow: ReadonlySet<string>;
  readonly #onDecision: (decision: ZapDecision) => void;

  private constructor(context: zmq.Context, allow: Iterable<string>, onDecision: (decision: ZapDecision) => void) {
    this.#router = new zmq.Router({ context, linger: 0 });
    this.#allow = new Set(allow);
    this.#onDecision = onDecision;
  }

  /** Binds the handler in `context`; it answers until `close()`. */
  static async start(
    context: zmq.Context,
    allow: Iterable<string>,
    onDecision: (decision: ZapDecision) => void,
  ): Promise<ZapHandler> {
    const handler = new ZapHandler(context, allow, onDecision);
    await handler.#router.bind("inproc://zeromq.zap.01");
    void handler.#serve();
    return handler;
  }

  async #serve(): Promise<void> {
    try {
      for await (const frames of this.#router) {
        // [routing id, "", version, request id, domain, address, identity, mechanism, ...credentials]
        const [peer, empty, , requestId, , address, , mechanism, key] = frames;
        if (peer === undefined || empty === undefined || requestId === undefined) continue;
        const isCurve = mechanism?.toString() === "CURVE" && key?.length === 32;
        const publicKey = isCurve && key !== undefined ? z85Encode(key) : "";
        const allowed = isCurve && this.#allow.has(publicKey);
        this.#onDecision({ publicKey, address: address?.toString() ?? "", allowed });
        await this.#router.send([
          peer,
          empty,
          "1.0",
          requestId,
          allowed ? "200" : "400",
          allowed ? "OK" : "public key not allowed",
          allowed ? publicKey : "",
          "",
        ]);
      }
    } catch (error) {
      // Closing the socket ends the loop with an error: that is the normal way out.
      if (!this.#router.closed) throw error;
    }
  }

  /** Unbinds the handler. */
  close(): void {
    this.#router.close();
  }
}
