import type { Bus } from "./bus.js";
import { checkBusOption, checkOptions } from "./bus-option.js";
import { isThenable } from "./concurrency-limiter.js";
import { defaultBus } from "./default-bus.js";
import { InvalidArgumentError } from "./errors.js";
import type { ArgsOf, EventMap, IsUntyped, Untyped } from "./event-map.js";
import { formatIdentifier, parseIdentifier, WILDCARD } from "./identifier.js";
import { kw, splitKwargs } from "./kwargs.js";
import { type FunctionWrapper, functionWrapper } from "./method-wrapper.js";

/**
 * Options of `autoTwitter`, with berryMQ 0.3's meaning: `{ entry: true }` alone sends only `entry`,
 * `{ exit: true }` alone only `exit`; neither or both sends both (`Events`: the map of a typed bus).
 */
export interface AutoTwitterOptions<Events extends EventMap | Untyped = Untyped> {
  /** Send `name:entry` (with the call's arguments) before the call. */
  entry?: boolean;
  /** Send `name:exit` (with the call's arguments, and `kwargs.result`, awaited) after the call. */
  exit?: boolean;
  /** Bus to send on (default: `defaultBus`); a typed bus checks the wrapped function against its map. */
  bus?: Bus<Events>;
}

/** Wraps a function, or decorates a method in either decorator mode. */
export type AutoTwitterDecorator = FunctionWrapper;

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
/** For an untyped overload's options: a typed bus must go through the typed overload, this refuses it rather than skip the check. */
export type UntypedBusOnly<O> = O extends { bus?: Bus<infer E> } ? (IsUntyped<E> extends true ? unknown : { bus?: never }) : unknown;

/**
 * A bus that takes any identifier: an untyped one. A typed bus is no such bus, its `twitter` taking only
 * the map's identifiers (compared as a function-typed property, its parameters are checked strictly).
 * For overloads whose options are not inferred (explicit type arguments), where {@link UntypedBusOnly}
 * sees only the default options type; a marker on `Bus` itself would refuse typed buses everywhere.
 */
export type UntypedBus = Bus & { readonly twitter: (identifier: string, ...args: unknown[]) => number };

type NameOnMap<Events extends EventMap> = {
  [K in keyof Events & string]: K extends `${infer N}:${"entry" | "exit" | "error"}` ? N : never;
}[keyof Events & string];

/**
 * Sends `name:entry` before and `name:exit` after each call of the wrapped function or method (berryMQ's
 * `auto_twitter`). Both carry the call's arguments; `exit` also carries the (awaited) result as
 * `kwargs.result`. `autoTwitter("s:entry")` sends only `s:entry`, `"s:exit"` only `s:exit`. A call that
 * throws or rejects sends `name:error` with the error, then rethrows.
 * @example
 * const save = autoTwitter("save")((doc: string) => doc.length);
 * save("hello"); // sends "save:entry" ["hello"], then "save:exit" ["hello"] { result: 5 }
 */
export function autoTwitter<Events extends EventMap, const N extends NameOnMap<Events>>(
  name: N,
  options: AutoTwitterOptions<Events> & { bus: Bus<Events> },
): TypedAutoTwitterDecorator<Events, N>;
/** `autoTwitter` on an untyped bus (or the default bus): sends `name:entry` / `name:exit` around each call. */
export function autoTwitter<O extends AutoTwitterOptions>(
  identifier: string,
  options?: O & UntypedBusOnly<O> & { bus?: UntypedBus },
): AutoTwitterDecorator;
export function autoTwitter(identifier: string, options: AutoTwitterOptions<never> = {}): AutoTwitterDecorator {
  checkOptions("autoTwitter options", options, "an object");
  checkBusOption("autoTwitter option bus", options.bus);
  const { name, namespace, action } = parseIdentifier(identifier);
  const id = (which: string): string => parseIdentifier(formatIdentifier(name, namespace, which)).id;
  const ids = { entry: id("entry"), exit: id("exit"), error: id("error") };
  const [sendEntry, sendExit] = chosenMessages(identifier, action, options);
  return functionWrapper("autoTwitter", (fn) =>
    function (this: unknown, ...args: unknown[]): unknown {
      const bus: Bus = (options.bus as Bus | undefined) ?? defaultBus;
      // A trailing kw() is the call's kwargs: entry and exit carry it, exit adds `result` to it.
      const { args: plain, kwargs } = splitKwargs(args);
      // Nothing is sent on a closed bus (it has no follower left): its BusClosedError took the place of the
      // call's result or error, and a wrapped stop() that closed its bus failed once it had succeeded.
      const exit = (result: unknown): void => {
        if (!bus.closed) bus.twitter(ids.exit, ...plain, kw({ ...kwargs, result }));
      };
      const failed = (error: unknown): void => {
        if (!bus.closed) bus.twitter(ids.error, error);
      };
      if (sendEntry && !bus.closed) bus.twitter(ids.entry, ...args);
      let result: unknown;
      try {
        result = fn.apply(this, args);
      } catch (error) {
        failed(error);
        throw error;
      }
      if (!isThenable(result)) {
        if (sendExit) exit(result);
        return result;
      }
      return Promise.resolve(result).then(
        (value) => {
          if (sendExit) exit(value);
          return value;
        },
        (error: unknown) => {
          failed(error);
          throw error;
        },
      );
    },
  );
}

// [entry, exit]: the identifier's action decides when it is entry or exit; else the options, 0.3-style.
function chosenMessages(identifier: string, action: string, options: Pick<AutoTwitterOptions, "entry" | "exit">): [boolean, boolean] {
  for (const key of ["entry", "exit"] as const) {
    if (options[key] !== undefined && typeof options[key] !== "boolean") {
      throw new InvalidArgumentError(`autoTwitter option ${key}`, options[key], "a boolean");
    }
  }
  const entry = options.entry === true;
  const exit = options.exit === true;
  if (action === WILDCARD) return entry === exit ? [true, true] : [entry, exit];
  if ((action === "entry" && !exit) || (action === "exit" && !entry)) return [action === "entry", action === "exit"];
  throw new InvalidArgumentError(
    "autoTwitter identifier",
    identifier,
    action === "entry" || action === "exit"
      ? `no option contradicting its action "${action}"`
      : 'a name ("s"), or "s:entry" / "s:exit" for one message only',
  );
}
