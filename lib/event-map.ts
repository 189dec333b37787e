import type { Kwargs } from "./kwargs.js";

/**
 * What one identifier carries in an {@link EventMap}: its args as a tuple, or `{ args, kwargs }` when it
 * takes keyword arguments too (`kwargs?` when they may be left out); `answer`: what its followers answer
 * `ask`/`request` (compile time only).
 * @example type Events = { "temp:read": [celsius: number]; "app:log": { args: [text: string]; kwargs: { level: number } } };
 */
export type Payload =
  | readonly unknown[]
  | { readonly args: readonly unknown[]; readonly kwargs?: Readonly<Record<string, unknown>>; readonly answer?: unknown };

/**
 * A map from concrete identifiers (`"name:action"`, `"name@ns:action"`) to payloads: `new Bus<Events>()`.
 * Declare it with `type`, not `interface` (an interface has no index signature).
 */
export type EventMap = Record<string, Payload>;

/** The type argument of an untyped `Bus` (the default): every identifier, any payload, as before. */
export interface Untyped {
  readonly "~untyped": true;
}

/** Whether `E` is the untyped default rather than an event map. */
export type IsUntyped<E> = [E] extends [Untyped] ? true : false;

/** The args tuple of a payload. */
export type ArgsOf<P> = P extends readonly unknown[]
  ? P
  : P extends { readonly args: infer A extends readonly unknown[] }
    ? A
    : never;

/** The kwargs of a payload (any record when it declares none: a sender may still attach some). */
export type KwargsOf<P> = P extends { readonly kwargs?: infer K } ? NonNullable<K> : Readonly<Record<string, unknown>>;

/** What a sender passes after the identifier: the args, then `kw({...})` when the payload declares kwargs. */
export type SendArgsOf<P> = P extends readonly unknown[]
  ? [...P]
  : P extends { readonly args: infer A extends readonly unknown[]; readonly kwargs: infer K }
    ? [...A, Kwargs<K & Record<string, unknown>>]
    : P extends { readonly args: infer A extends readonly unknown[]; readonly kwargs?: infer K }
      ? [...A] | [...A, Kwargs<NonNullable<K> & Record<string, unknown>>]
      : never;
