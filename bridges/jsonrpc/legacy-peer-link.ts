import type { Message } from "../../lib/message.js";
import type { Envelope } from "../envelope.js";
import { Link, type LinkOptions } from "../link.js";
import { BridgeErrorCode } from "./error-codes.js";
import { RpcFault } from "./errors.js";
import { RpcEndpoint } from "./rpc-endpoint.js";

/**
 * The server's end of a link a berryMQ 0.3 peer opened with `interconnect(addr, token, ttl)`: forwards
 * every exported message to `http://host:port/` as one JSON-RPC 1.0 `send_message` call each (0.3 has no
 * batches), in order, buffered and retried while the peer is down.
 */
export class LegacyPeerLink extends Link {
  readonly #endpoint: RpcEndpoint;
  readonly #token: string;
  readonly #onLost: () => void;

  constructor(url: string, token: string, onLost: () => void, options: LinkOptions = {}) {
    super(options);
    this.#endpoint = new RpcEndpoint(url);
    this.#token = token;
    this.#onLost = onLost;
    this.start();
  }

  /** Takes a message the peer sent with `send_message`. */
  acceptMessage(message: Message): number | undefined {
    return this.receiveMessage(message);
  }

  /** Takes an envelope (a 0.3 peer never sends one; here for the server's one code path). */
  accept(frame: unknown): number | undefined {
    return this.receive(frame);
  }

  protected override async transmit(batch: Envelope[]): Promise<void> {
    while (batch.length > 0) {
      const envelope = batch[0] as Envelope;
      const answer = await this.#endpoint.legacyCall("send_message", [this.#token, envelope.id, envelope.args, envelope.kwargs]);
      if (answer === "invalid token" || answer === "timeout") {
        setImmediate(this.#onLost);
        throw new RpcFault(
          BridgeErrorCode.InvalidToken,
          `link ${this.name}: the berryMQ 0.3 peer answered ${JSON.stringify(answer)}`,
        );
      }
      // A failure later in this batch makes the Link retry all of it, and a 0.3 peer has no
      // de-duplication: dropping what was sent keeps this loop from sending it twice in one attempt.
      batch.shift();
    }
  }

  protected override async closeTransport(): Promise<void> {
    this.#endpoint.close();
  }
}
