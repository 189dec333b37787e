import { checkJsonValue, type Envelope } from "../envelope.js";

/**
 * Why JSON cannot carry an outgoing envelope's args or kwargs as they are (NaN or ±Infinity would become
 * null, a `__proto__` key or nesting past the limit would be refused by the far side), or undefined.
 */
export function unsendable(envelope: Envelope): unknown {
  try {
    checkJsonValue(envelope.args, "args", 0);
    checkJsonValue(envelope.kwargs, "kwargs", 0);
    return undefined;
  } catch (error) {
    return error;
  }
}
