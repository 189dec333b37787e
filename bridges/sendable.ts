import { checkJsonValue, ENVELOPE_LIMITS, prototypeKey } from "./envelope.js";

/**
 * Why JSON cannot carry an outgoing message's args or kwargs as they are (NaN or ±Infinity would become
 * null, a BigInt makes JSON.stringify throw, a `__proto__` key or nesting past the limit would be refused
 * by the far side), or undefined.
 */
export function unsendable(envelope: { readonly args: readonly unknown[]; readonly kwargs: object }): unknown {
  // The common case answered without building the error's path (`checkJsonValue` names every element it
  // visits); only what fails is checked again for the error.
  if (sendable(envelope.args, 0) && sendable(envelope.kwargs, 0)) return undefined;
  try {
    checkJsonValue(envelope.args, "args", 0);
    checkJsonValue(envelope.kwargs, "kwargs", 0);
    return undefined;
  } catch (error) {
    return error;
  }
}

// What `checkJsonValue` accepts, as a yes or no.
function sendable(value: unknown, depth: number): boolean {
  if (depth > ENVELOPE_LIMITS.depth) return false;
  if (typeof value === "number") return Number.isFinite(value);
  if (typeof value === "bigint") return false;
  if (typeof value !== "object" || value === null) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!sendable(value[i], depth + 1)) return false;
    return true;
  }
  if (prototypeKey(value) !== undefined) return false;
  for (const key in value) {
    if (Object.hasOwn(value, key) && !sendable((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}
