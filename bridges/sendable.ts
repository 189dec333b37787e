import { checkJsonValue, ENVELOPE_LIMITS } from "./envelope.js";
import { InvalidEnvelopeError } from "./errors.js";

/**
 * Why JSON cannot carry an outgoing message's args or kwargs as they are (NaN or ±Infinity would become
 * null, a BigInt makes JSON.stringify throw, a `__proto__` key or nesting past the limit would be refused
 * by the far side), or why the far side would refuse its envelope (an identifier longer than
 * `ENVELOPE_LIMITS.identifierLength`, a talk() callback identifier as long, more hops than `ENVELOPE_LIMITS.hops`: a bus takes both), or undefined.
 */
export function unsendable(
  envelope: {
    readonly id?: string;
    readonly hops?: readonly string[];
    readonly replyTo?: string | undefined;
    readonly args: readonly unknown[];
    readonly kwargs: object;
  },
  // False for a berryMQ 0.3 peer: it takes an identifier of any length, and no hops or reply identifier.
  envelopeLimits = true,
): unknown {
  // Checked here rather than left to the far side's refusal, which names no message: a request refused
  // there waited out its timeout (for ever with Infinity) while its link knew it was not taken.
  const { id, hops, replyTo } = envelope;
  if (envelopeLimits) {
    if (id !== undefined && id.length > ENVELOPE_LIMITS.identifierLength)
      return new InvalidEnvelopeError("id", id, `an identifier of at most ${ENVELOPE_LIMITS.identifierLength} characters`);
    // A talk() callback identifier, as long as the bus took it.
    if (replyTo !== undefined && replyTo.length > ENVELOPE_LIMITS.identifierLength)
      return new InvalidEnvelopeError(
        "replyTo",
        replyTo,
        `an identifier of at most ${ENVELOPE_LIMITS.identifierLength} characters`,
      );
    if (hops !== undefined && hops.length > ENVELOPE_LIMITS.hops)
      return new InvalidEnvelopeError("hops", `(${hops.length} bus ids)`, `at most ${ENVELOPE_LIMITS.hops}: the hop limit`);
  }
  // checkJsonValue builds the error's path only for a value that fails.
  try {
    checkJsonValue(envelope.args, "args", 0);
    checkJsonValue(envelope.kwargs, "kwargs", 0);
    return undefined;
  } catch (error) {
    return error;
  }
}
