import type { UntypedBus, UntypedBusOnly } from "./auto-twitter.js";
import type { Bus, FollowOptions, Unsubscribe } from "./bus.js";
import { checkOptions } from "./bus-option.js";
import { checkLegacyMethod, isStandardContext } from "./decorator-context.js";
import { defaultBus } from "./default-bus.js";
import { InvalidArgumentError } from "./errors.js";
import type { ArgsOf, EventMap, IsUntyped, Untyped } from "./event-map.js";
import { addMetadataSpec, addPrototypeSpec, followingSpec } from "./follower-metadata.js";
import { refuseClassConstructor } from "./class-constructor.js";
import { refuseGeneratorFunction } from "./generator-function.js";
import { Held } from "./held.js";
import { parseIdentifier } from "./identifier.js";
import type { Message } from "./message.js";
import { type RequestOptions, within } from "./request.js";
import type { AnswerOf, MatchingIds, MessageFor, PatternOf, PayloadOf, SendArgs } from "./typed-identifiers.js";

/** Options of a stub. */
export interface StubOptions extends Omit<RequestOptions, "count" | "signal"> {
  /** Bus to ask on (default: `defaultBus`). */
  bus?: Bus;
}

/** A typed function that asks the followers of an identifier, anywhere, and resolves to the first answer. */
export type Stub<Args extends unknown[], Result> = (...args: Args) => Promise<Result>;

/**
 * A typed stub for a function exposed under `identifier` in this or any linked process (pymq's
 * `stub('name')`, pseud's `client.name()`): each call is `bus.ask(identifier, ...args)`. A remote
 * failure rejects with RemoteError; no answer within `timeout` with RequestTimeoutError. On a bus typed
 * by an event map, `stub(identifier, { bus })` takes its args and answer from the map.
 * @example const add = stub<[number, number], number>("calc:add"); await add(1, 2); // 3
 */
export function stub<Events extends EventMap, const P extends PatternOf<Events>>(
  identifier: P,
  options: StubOptions & { bus: Bus<Events> },
): Stub<Extract<SendArgs<Events, P>, unknown[]>, AnswerOf<Events, P>>;
// Explicit `Args` and `Result`, on an untyped bus: they cannot name the identifier to check. Inferred
// instead, on a typed bus, this overload took any identifier and args: `O` is inferred then, and refused.
// With explicit type arguments `O` is not inferred (its default): `UntypedBus` refuses a typed bus then,
// which took any identifier (`stub<[string], number>("calc:mul", { bus })`, misspelled, compiled).
/** A stub typed by explicit `Args` and `Result`: each call is `bus.ask(identifier, ...args)`. */
// `count?: never`: inferred, `O` kept a `count` (StubOptions has none), which threw when the stub was made.
export function stub<Args extends unknown[], Result, O extends StubOptions & { count?: never } = StubOptions>(
  identifier: string,
  options?: O & UntypedBusOnly<O> & { bus?: UntypedBus },
): Stub<Args, Result>;
// Last, for the refusals only: an identifier not in a typed bus's map is reported as such (the overload
// above said only that the bus is not `undefined`).
export function stub<Events extends EventMap, const P extends PatternOf<Events>>(
  identifier: P,
  options: StubOptions & { bus: Bus<Events> },
): Stub<Extract<SendArgs<Events, P>, unknown[]>, AnswerOf<Events, P>>;
export function stub(identifier: string, options: StubOptions = {}): Stub<unknown[], unknown> {
  const id = parseIdentifier(identifier).id;
  checkOptions("stub options", options, "an object");
  const { bus = defaultBus, ...requestOptions } = options;
  // A bus that is none failed only at the first call, as a TypeError.
  if (typeof (bus as Partial<Bus> | null)?.ask !== "function") throw new InvalidArgumentError("bus", bus, "a Bus");
  // A count (from JavaScript; the type has none) was refused by ask() at every call, never when made.
  const count = (requestOptions as RequestOptions).count;
  if (count !== undefined && count !== 1) {
    throw new InvalidArgumentError("count", count, "1 (or left out) for a stub, which resolves to the first answer");
  }
  const marker = within(requestOptions);
  marker.checked(1); // a bad timeout, count or balanced is refused here, not at every call
  return (...args: unknown[]) => (bus as Bus).ask<unknown>(id, ...args, marker);
}

/**
 * Exposes a plain function under `identifier`: a request's args become its arguments, its (awaited)
 * result is the answer (`null` when it returns nothing), what it throws goes back as a RemoteError.
 * @returns a function that stops exposing it.
 * @example expose("calc:add", (a: number, b: number) => a + b, { bus });
 */
export function expose<Events extends EventMap, const P extends PatternOf<Events>>(
  identifier: P,
  fn: ExposedFunction<Events, P>,
  options: FollowOptions<Extract<MessageFor<Events, P>, Message>> & { bus: Bus<Events> },
): Unsubscribe;
/** Exposes `fn` under `identifier` on an untyped bus (or the default bus): its result answers each request. */
// `UntypedBus`: with explicit type arguments (`O` not inferred) a typed bus took any identifier, as for stub.
export function expose<Args extends unknown[], Result, O extends ExposeOptions = ExposeOptions>(
  identifier: string,
  fn: (...args: Args) => Result,
  options?: O & UntypedBusOnly<O> & { bus?: UntypedBus },
): Unsubscribe;
// Last, for the refusals only (the two above take every call that fits): when no overload fits,
// TypeScript reports the last one's error, so this one takes either kind of bus and names what is wrong
// with the function (its parameters or answer) or the options. The untyped overload, last, said of a
// typed bus only that `{ bus }` is not `undefined`. The typed one must stay first: a callback in the
// options (a guard) is typed by the first overload tried, and the untyped one types it as a plain Message.
export function expose<Events extends EventMap | Untyped = Untyped, const P extends PatternOf<Events> = PatternOf<Events>>(
  identifier: P,
  fn: IsUntyped<Events> extends true ? (...args: never[]) => unknown : ExposedFunction<Extract<Events, EventMap>, P>,
  options?: FollowOptions<Extract<MessageFor<Events, P>, Message>> & { bus?: Bus<Events> },
): Unsubscribe;
export function expose(identifier: string, fn: unknown, options: FollowOptions<never> & { bus?: Bus<never> } = {}): Unsubscribe {
  if (typeof fn !== "function") throw new InvalidArgumentError("fn", fn, "a function");
  refuseGeneratorFunction("fn", fn); // its answer would be an iterator, its body never run
  refuseClassConstructor("fn", fn);
  const call = fn as (...args: readonly unknown[]) => unknown; // the overloads typed its parameters
  checkOptions("expose options", options, "an object");
  const { bus = defaultBus as Bus, ...followOptions } = options as FollowOptions & { bus?: Bus };
  if (typeof (bus as Partial<Bus> | null)?.follow !== "function") throw new InvalidArgumentError("bus", bus, "a Bus");
  return bus.follow(identifier, (message) => answerOf(call(...message.args)), { label: fn.name || identifier, ...followOptions });
}

/** Options of `expose` on an untyped bus. */
export type ExposeOptions = FollowOptions & { bus?: Bus };

/**
 * What a function exposed under `P` on a bus typed by `Events` must be: for every identifier `P` matches,
 * one that takes its args (it may ignore trailing ones, or add optional ones) and answers its `answer`,
 * or a promise of it, where the map declares one.
 */
export type ExposedFunction<Events extends EventMap, P extends string> = PerIdentifier<Events, P, true>;

/**
 * `unknown` when a function `(...args: Args) => Result` may be exposed under `P` on a bus typed by
 * `Events` (it is an {@link ExposedFunction} of them); otherwise a type whose `~error` says what is wrong.
 */
export type ExposeFits<Events extends EventMap, P extends string, Args extends unknown[], Result> = [
  (...args: Args) => Result,
] extends [PerIdentifier<Events, P, false>]
  ? [(...args: Args) => Result] extends [ExposedFunction<Events, P>]
    ? unknown
    : { "~error": `the result does not fit the answer of "${P}"`; expected: AnswerOf<Events, P> }
  : { "~error": `the parameters do not take the args of "${P}"`; expected: [...ArgsOf<PayloadOf<Events, P>>] };

// One function type per identifier `P` matches, intersected, so a function must fit each: a union of
// args tuples as one rest parameter refused a function that ignores trailing args. `Answering`: whether
// the result must be the map's answer.
type PerIdentifier<Events extends EventMap, P extends string, Answering extends boolean> = UnionToIntersection<
  {
    [K in MatchingIds<Events, P>]: (
      ...args: [...ArgsOf<Events[K]>]
    ) => Answering extends true ? AnswerOf<Events, K> | PromiseLike<AnswerOf<Events, K>> : unknown;
  }[MatchingIds<Events, P>]
>;

type UnionToIntersection<U> = (U extends unknown ? (value: U) => void : never) extends (value: infer I) => void ? I : never;

// What an exposed function or method answers: its result, `null` for nothing. A follower's `undefined`
// is no answer, so a stub of a function returning nothing (`stub<[], void>`) always timed out.
// Its `then` is read once (a getter runs once, as for a plain follower's result): a result read again by
// Promise.resolve and then by the bus answered what a second read gave, or threw.
function answerOf(result: unknown): unknown {
  if (result === undefined) return null;
  if ((typeof result !== "object" && typeof result !== "function") || result === null) return result;
  const then = (result as { then?: unknown }).then;
  if (typeof then !== "function") return new Held(result);
  return new Promise<unknown>((resolve, reject) => {
    (then as (onFulfilled: (value: unknown) => void, onRejected: (error: unknown) => void) => void).call(result, resolve, reject);
  }).then((value) => (value === undefined ? null : value));
}

/** A method decorator for both decorator modes (`experimentalDecorators` and TC39). */
export interface ExposedDecorator {
  (prototype: object, key: string | symbol, descriptor: PropertyDescriptor): void;
  (method: (this: never, ...args: never[]) => unknown, context: ClassMethodDecoratorContext): void;
}

/**
 * Exposes a method of a `@Follower` class under `identifier`, called with the request's args (unlike
 * `@following`, whose methods receive the message); it answers its result, `null` when it returns
 * nothing. The method stays callable as it is.
 * @example
 * ＠Follower
 * class Catalog {
 *   ＠exposed("product:call")
 *   price(sku: string): number { return 42; }
 * }
 */
export function exposed(identifier: string): ExposedDecorator {
  followingSpec(identifier, "", undefined); // a bad identifier fails when the class is defined
  return ((target: unknown, keyOrContext: unknown, descriptor?: PropertyDescriptor): void => {
    if (isStandardContext(keyOrContext)) {
      // A private method (`#name`) was taken, and every request then failed: the adapter looks the method
      // up by its name, which names no property (as for @following, refused).
      if (keyOrContext.kind !== "method" || keyOrContext.static || keyOrContext.private) {
        throw new InvalidArgumentError("@exposed target", keyOrContext.name, "a public instance method");
      }
      refuseGeneratorFunction(`@exposed method ${String(keyOrContext.name)}`, target);
      const name = keyOrContext.name;
      const metadata: unknown = keyOrContext.metadata;
      if (typeof metadata !== "object" || metadata === null) {
        throw new InvalidArgumentError("@exposed decorator metadata", metadata, "Symbol.metadata support (TypeScript >= 5.2)");
      }
      // The spec is the class's (so subclasses and one registration see it); each instance gets the
      // symbol-keyed adapter that calls the method with the request's args.
      const key = exposedKey(name);
      addMetadataSpec(metadata, followingSpec(identifier, key, undefined));
      keyOrContext.addInitializer(function (this: unknown) {
        const instance = this as Record<string | symbol, unknown>;
        // A base class's @exposed on the same method defined it already (it calls the override too).
        if (Object.hasOwn(instance, key)) return;
        Object.defineProperty(instance, key, { value: (message: Message) => callWithArgs(instance, name, message) });
      });
      return;
    }
    if (typeof keyOrContext !== "string" && typeof keyOrContext !== "symbol") {
      throw new InvalidArgumentError("@exposed target", keyOrContext, "an instance method");
    }
    if (typeof target === "function") {
      throw new InvalidArgumentError("@exposed target", keyOrContext, "an instance method, not a static one");
    }
    checkLegacyMethod("@exposed target", keyOrContext, descriptor, "an instance method");
    refuseGeneratorFunction(`@exposed method ${String(keyOrContext)}`, descriptor?.value);
    const key = exposedKey(keyOrContext);
    // Another @exposed on the same method defined it already.
    if (!Object.hasOwn(target as object, key)) {
      Object.defineProperty(target as object, key, {
        value(this: Record<string | symbol, unknown>, message: Message) {
          return callWithArgs(this, keyOrContext, message);
        },
      });
    }
    addPrototypeSpec(target as object, followingSpec(identifier, key, undefined));
  }) as ExposedDecorator;
}

// One adapter key per method name, for every class: an override exposed again under the identifier its
// base exposes is the same method/pattern pair, so it is registered once (each decoration had a key of
// its own, and an overridden method answered every request twice).
const exposedKeys = new Map<string | symbol, symbol>();
function exposedKey(name: string | symbol): symbol {
  let key = exposedKeys.get(name);
  if (key === undefined) {
    key = Symbol(`exposed ${String(name)}`);
    exposedKeys.set(name, key);
  }
  return key;
}

function callWithArgs(instance: Record<string | symbol, unknown>, name: string | symbol, message: Message): unknown {
  const method = instance[name];
  if (typeof method !== "function") throw new InvalidArgumentError(`method ${String(name)}`, method, "a function");
  // A subclass's override may be one (it compiles): the answer was the iterator, its body never run.
  refuseGeneratorFunction(`method ${String(name)}`, method);
  return answerOf(method.apply(instance, message.args));
}
