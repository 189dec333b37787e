import { NO_KWARGS } from "../lib/kwargs.js";
import { keepWireText, type Message, wireTextOf } from "../lib/message.js";
import { checkJsonValue, ENVELOPE_LIMITS, envelopeJson, hasToJson } from "./envelope.js";

/**
 * Why JSON cannot carry an outgoing message's args or kwargs as they are (NaN or ±Infinity would become
 * null, a BigInt makes JSON.stringify throw, a `__proto__` key or nesting past the limit would be refused
 * by the far side), or undefined.
 */
export function unsendable(envelope: { readonly args: readonly unknown[]; readonly kwargs: object }): unknown {
  // checkJsonValue builds the error's path only for a value that fails.
  try {
    checkJsonValue(envelope.args, "args", 0);
    checkJsonValue(envelope.kwargs, "kwargs", 0);
    return undefined;
  } catch (error) {
    return error;
  }
}

// What a JSON text shows of a value `unsendable` may refuse: `null` (NaN and ±Infinity are written so),
// a `__proto__` key, a `prototype` key (of a `constructor`). Nesting past the limit needs a text of at
// least DEEP characters (one bracket a level, opened and closed).
const HINT = /null|"__proto__":|"prototype":/;
const DEEP = 2 * (ENVELOPE_LIMITS.depth + 1);

/**
 * `unsendable`, writing the message's envelope as JSON on the way (the text `envelopesJson` then takes,
 * kept on the message: see `wireTextOf`): JSON.stringify is the walk, and the value is walked again only when its text hints
 * at something `unsendable` refuses. A `toJSON` that throws makes the message unsendable too (it would
 * fail every send of its batch). A message written already passes at once.
 */
export function unsendableWriting(message: Message): unknown {
  if (wireTextOf(message) !== undefined) return undefined;
  const args = message.args;
  const kwargs = message.kwargs;
  // A toJSON of args or kwargs themselves is given the key: envelopesJson writes those envelopes whole.
  if (hasToJson(args) || hasToJson(kwargs)) return unsendable(message);
  let argsJson: string;
  let kwargsJson: string;
  try {
    argsJson = JSON.stringify(args);
    kwargsJson = kwargs === NO_KWARGS ? "{}" : JSON.stringify(kwargs);
  } catch (error) {
    return unsendable(message) ?? error;
  }
  if (argsJson.length >= DEEP || kwargsJson.length >= DEEP || HINT.test(argsJson) || HINT.test(kwargsJson)) {
    const why = unsendable(message);
    if (why !== undefined) return why;
  }
  keepWireText(message, envelopeJson(message, argsJson, kwargsJson));
  return undefined;
}
