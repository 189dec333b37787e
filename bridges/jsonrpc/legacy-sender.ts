import type { Bus } from "../../lib/bus.js";
import { type BerryError, type ErrorEmitter, emitError } from "../../lib/errors.js";
import type { Envelope } from "../envelope.js";
import { BridgeErrorCode } from "./error-codes.js";
import { PeerRefusedError, RemoteError, RpcFault } from "./errors.js";
import type { RpcEndpoint } from "./rpc-endpoint.js";

/** What a {@link sendLegacy} call needs from its link. */
export interface LegacySendContext {
  readonly name: string;
  readonly endpoint: RpcEndpoint;
  readonly token: string;
  /** Counts and reports a message that was skipped. */
  skip(error: BerryError): void;
  /** The peer answered "invalid token" or "timeout": it forgot us. */
  lost(): void;
  /** The peer answered for `envelope` (took it, or refused it: `taken` false, skipped): it is not to go again. */
  answered(envelope: Envelope, taken: boolean): void;
}

/**
 * Sends envelopes to a berryMQ 0.3 server as `send_message` calls, one at a time, in order (0.3 has no
 * batches). A message the peer refuses (its follower raised: an `error` answer) is reported and skipped,
 * never retried (one JSON cannot carry exactly never gets here: every Link refuses it when it is queued); an unreachable peer rejects, keeping what is left of `batch` for the retry.
 */
export async function sendLegacy(context: LegacySendContext, batch: Envelope[]): Promise<void> {
  while (batch.length > 0) {
    const envelope = batch[0] as Envelope;
    let answer: unknown;
    try {
      answer = await context.endpoint.legacyCall("send_message", [context.token, envelope.id, envelope.args, envelope.kwargs]);
    } catch (error) {
      if (!(error instanceof RemoteError)) throw error;
      context.skip(new PeerRefusedError(context.name, envelope, error));
      batch.shift();
      context.answered(envelope, false);
      continue;
    }
    if (answer === "invalid token" || answer === "timeout") {
      context.lost();
      throw new RpcFault(
        BridgeErrorCode.InvalidToken,
        `link ${context.name}: the berryMQ 0.3 peer answered ${JSON.stringify(answer)}`,
      );
    }
    // Dropped once sent (out of the Link's batch in flight too): a failure later in this batch makes the
    // Link retry the rest only (0.3 peers have no de-duplication, so nothing may go twice), and close()
    // does not report it undelivered.
    batch.shift();
    context.answered(envelope, true);
  }
}

/** Reports a skipped message on the link's `error` event, or the bus's when nobody listens. */
export function reportOn(link: ErrorEmitter, bus: Bus, error: BerryError): void {
  emitError(link, error, (unheard) => bus.report(unheard));
}
