/**
 * A follower's result that is an object, on its way to `talk()`, through the multiplicity limiter, or out
 * of `expose()` (which read its `then` already): held, so that no promise resolution or dispatch reads its
 * `then` again (a getter, a Proxy's trap). Told apart by its private field, which no Proxy trap sees.
 */
export class Held {
  readonly #value: unknown;

  constructor(value: unknown) {
    this.#value = value;
  }

  /** Whether `value` is a Held (a brand check: runs no getter or trap of `value`). */
  static is(value: unknown): value is Held {
    return typeof value === "object" && value !== null && #value in value;
  }

  /** The value `value` holds, or `value` itself when it is no Held. */
  static unwrap(value: unknown): unknown {
    return Held.is(value) ? value.#value : value;
  }
}

/** `value` held when it is an object or a function (what has a `then` to read), else itself. */
export function held(value: unknown): unknown {
  return (typeof value === "object" && value !== null) || typeof value === "function" ? new Held(value) : value;
}
