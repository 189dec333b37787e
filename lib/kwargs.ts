import { InvalidArgumentError } from "./errors.js";

/** Keyword arguments for a message, marked so that `twitter(id, ...args, kw({...}))` can tell them from args. */
export class Kwargs<T extends Record<string, unknown> = Record<string, unknown>> {
  readonly values: Readonly<T>;

  constructor(values: T) {
    if (!isPlainObject(values)) throw new InvalidArgumentError("kwargs", values, "a plain object");
    this.values = Object.freeze({ ...values });
  }
}

/**
 * Marks keyword arguments, berryMQ's `**kwargs`: pass it as the last argument of `twitter` or `talk`.
 * @example twitter("app:log", "disk full", kw({ level: 3 }))
 */
export function kw<T extends Record<string, unknown>>(values: T): Kwargs<T> {
  return new Kwargs(values);
}

/** Whether a value is a plain object (`{}` literal or null prototype). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** An empty, frozen kwargs object shared by every message sent without kwargs. */
export const NO_KWARGS: Readonly<Record<string, unknown>> = Object.freeze({});

/** Splits a trailing `kw()` marker off an argument list; a `kw()` anywhere else is refused. */
export function splitKwargs(values: readonly unknown[]): {
  args: unknown[];
  kwargs: Readonly<Record<string, unknown>>;
} {
  const last = values[values.length - 1];
  const args = last instanceof Kwargs ? values.slice(0, -1) : values.slice();
  checkNoKwargs(args);
  return { args, kwargs: last instanceof Kwargs ? last.values : NO_KWARGS };
}

/**
 * Refuses a `kw()` marker among positional arguments (it must come last, or it would silently travel
 * as an ordinary argument).
 * @throws InvalidArgumentError naming its position.
 */
export function checkNoKwargs(args: readonly unknown[]): void {
  for (let i = 0; i < args.length; i++) {
    const value = args[i];
    if (value instanceof Kwargs) {
      throw new InvalidArgumentError(`kw() at argument ${i + 1}`, value.values, "kw() only as the last argument");
    }
  }
}
