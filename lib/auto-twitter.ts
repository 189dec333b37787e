import type { Bus } from "./bus.js";
import { isThenable } from "./concurrency-limiter.js";
import { isStandardContext } from "./decorator-context.js";
import { defaultBus } from "./default-bus.js";
import { InvalidArgumentError } from "./errors.js";
import type { ArgsOf, EventMap, IsUntyped, Untyped } from "./event-map.js";
import { parseIdentifier } from "./identifier.js";

/** Options of `autoTwitter` (`Events`: the map of a typed bus). */
export interface AutoTwitterOptions<Events extends EventMap | Untyped = Untyped> {
  /** Send `name:entry` (with the call's arguments) before the call; default true. */
  entry?: boolean;
  /** Send `name:exit` (with the result, awaited) after the call; default true. */
  exit?: boolean;
  /** Bus to send on (default: `defaultBus`); a typed bus checks the wrapped function against its map. */
  bus?: Bus<Events>;
}

type AnyFunction = (this: never, ...args: never[]) => unknown;

/** Wraps a function, or decorates a method in either decorator mode. */
export interface AutoTwitterDecorator {
  <F extends AnyFunction>(fn: F, context?: ClassMethodDecoratorContext): F;
  (prototype: object, key: string | symbol, descriptor: PropertyDescriptor): PropertyDescriptor;
}

/**
 * `autoTwitter` on a typed bus: the wrapped function's parameters must be `name:entry`'s payload and its
 * (awaited) result `name:exit`'s single arg, for those of the three identifiers the map declares (a name
 * with no declared identifier is refused). `name:error` carries the error (`[error: unknown]`).
 */
export interface TypedAutoTwitterDecorator<Events extends EventMap, N extends string> {
  <F extends (this: never, ...args: never[]) => unknown>(
    fn: F & AutoTwitterFits<Events, N, F>,
    context?: ClassMethodDecoratorContext,
  ): F;
  <F extends (this: never, ...args: never[]) => unknown>(
    prototype: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<F & AutoTwitterFits<Events, N, F>>,
  ): PropertyDescriptor;
}

/** `unknown` when `F` fits `name:entry` / `name:exit` of the map, else a type naming the mismatch. */
export type AutoTwitterFits<Events extends EventMap, N extends string, F> = F extends (this: never, ...args: infer A) => infer R
  ? [A] extends [EntryArgs<Events, N>]
    ? [Awaited<R>] extends [ExitArg<Events, N>]
      ? unknown
      : { "~error": `the result does not fit "${N}:exit"`; expected: ExitArg<Events, N> }
    : { "~error": `the parameters do not fit "${N}:entry"`; expected: EntryArgs<Events, N> }
  : never;

type EntryArgs<Events extends EventMap, N extends string> = `${N}:entry` extends keyof Events
  ? ArgsOf<Events[`${N}:entry`]>
  : readonly unknown[];
type ExitArg<Events extends EventMap, N extends string> = `${N}:exit` extends keyof Events
  ? ArgsOf<Events[`${N}:exit`]>[0]
  : unknown;
// A typed bus must go through the typed overload: this one refuses it rather than skip the check.
type UntypedBusOnly<O> = O extends { bus?: Bus<infer E> } ? (IsUntyped<E> extends true ? unknown : { bus?: never }) : unknown;

type NameOnMap<Events extends EventMap> = {
  [K in keyof Events & string]: K extends `${infer N}:${"entry" | "exit" | "error"}` ? N : never;
}[keyof Events & string];

/**
 * Sends `name:entry` before and `name:exit` after each call of the wrapped function or method (berryMQ's
 * `auto_twitter`); a call that throws or rejects sends `name:error` with the error, then rethrows.
 * @example
 * const save = autoTwitter("save")((doc: string) => doc.length);
 * save("hello"); // sends "save:entry" ["hello"], then "save:exit" [5]
 */
export function autoTwitter<Events extends EventMap, const N extends NameOnMap<Events>>(
  name: N,
  options: AutoTwitterOptions<Events> & { bus: Bus<Events> },
): TypedAutoTwitterDecorator<Events, N>;
export function autoTwitter<O extends AutoTwitterOptions>(name: string, options?: O & UntypedBusOnly<O>): AutoTwitterDecorator;
export function autoTwitter(name: string, options: AutoTwitterOptions<never> = {}): AutoTwitterDecorator {
  const ids = {
    entry: parseIdentifier(`${name}:entry`).id,
    exit: parseIdentifier(`${name}:exit`).id,
    error: parseIdentifier(`${name}:error`).id,
  };
  const sendEntry = options.entry !== false;
  const sendExit = options.exit !== false;
  const wrap = (fn: unknown): ((...args: unknown[]) => unknown) => {
    if (typeof fn !== "function") throw new InvalidArgumentError("autoTwitter target", fn, "a function or method");
    return function (this: unknown, ...args: unknown[]): unknown {
      const bus: Bus = (options.bus as Bus | undefined) ?? defaultBus;
      if (sendEntry) bus.twitter(ids.entry, ...args);
      let result: unknown;
      try {
        result = fn.apply(this, args);
      } catch (error) {
        bus.twitter(ids.error, error);
        throw error;
      }
      if (!isThenable(result)) {
        if (sendExit) bus.twitter(ids.exit, result);
        return result;
      }
      return Promise.resolve(result).then(
        (value) => {
          if (sendExit) bus.twitter(ids.exit, value);
          return value;
        },
        (error: unknown) => {
          bus.twitter(ids.error, error);
          throw error;
        },
      );
    };
  };
  return ((target: unknown, keyOrContext?: unknown, descriptor?: PropertyDescriptor): unknown => {
    if (keyOrContext === undefined || isStandardContext(keyOrContext)) return wrap(target);
    if (descriptor === undefined) throw new InvalidArgumentError("autoTwitter target", keyOrContext, "a method");
    return { ...descriptor, value: wrap(descriptor.value) };
  }) as AutoTwitterDecorator;
}
