import { checkJsonValue } from "./envelope.js";

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

