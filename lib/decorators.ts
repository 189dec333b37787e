import type { Bus } from "./bus.js";
import { checkBusOption, checkOptions } from "./bus-option.js";
import { checkLegacyMethod, isStandardContext } from "./decorator-context.js";
import { defaultBus } from "./default-bus.js";
import { InvalidArgumentError } from "./errors.js";
import type { EventMap, Untyped } from "./event-map.js";
import {
  addMetadataSpec,
  addPrototypeSpec,
  addStaticSpec,
  followingSpec,
  followingSpecsOf,
  recordWrapper,
  registrationKey,
} from "./follower-metadata.js";
import { refuseClassConstructor } from "./class-constructor.js";
import { refuseGeneratorFunction } from "./generator-function.js";
import type { Message } from "./message.js";
import type { MessageFor, PatternOf } from "./typed-identifiers.js";

/** Options of `@following` (`M`: the message type under {@link typedFollowing}). */
export interface FollowingOptions<M extends Message = Message> {
  /** Receives only messages for which this returns true. */
  guard?: (message: M) => boolean;
  /**
   * Static methods only: the bus the class registers on when it is defined (default: `defaultBus`).
   * Instances register on their `@Follower`'s bus, or on the bus you `register` them with.
   */
  bus?: Bus;
}

/**
 * `@following` checked against an event map: the method's parameter must accept every message the
 * pattern can match. Both decorator modes. Method parameters are compared both ways by TypeScript
 * (method bivariance), so the check is done explicitly: a parameter narrower than the pattern's
 * messages is refused too.
 */
export interface TypedFollowingDecorator<M extends Message> {
  <F extends (this: never, message: never) => unknown>(
    prototype: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<F & AcceptsAll<F, M>>,
  ): void;
  <F extends (this: never, message: never) => unknown>(method: F & AcceptsAll<F, M>, context: ClassMethodDecoratorContext): void;
}

/** `unknown` when `F`'s first parameter accepts every `M`; otherwise a type no method has, naming the problem. */
export type AcceptsAll<F, M> = F extends (this: never, message: infer A) => unknown
  ? [M] extends [A]
    ? unknown
    : { "~error": "the method's parameter does not accept every message this pattern matches"; expected: M }
  : never;

/**
 * `@following` for followers of a bus typed by `Events` (no run-time cost: it is `following` itself).
 * @example
 * const on = typedFollowing<Events>();
 * class Thermostat { ＠on("temp:*") onTemp(m: MessageFor<Events, "temp:*">) {} }
 */
export function typedFollowing<Events extends EventMap | Untyped>(): <const P extends PatternOf<Events>>(
  pattern: P,
  options?: FollowingOptions<Extract<MessageFor<Events, P>, Message>>,
) => TypedFollowingDecorator<Extract<MessageFor<Events, P>, Message>> {
  return following as never;
}

/** A method decorator usable with `experimentalDecorators` and with standard decorators. */
export interface FollowingDecorator {
  // Typed by the method, as the standard overload is: a `PropertyDescriptor` took any method, and one
  // declared `(celsius: number)` compiled with experimentalDecorators and got the Message as `celsius`.
  <F extends (this: never, message: Message) => unknown>(
    prototype: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<F>,
  ): void;
  <This, Method extends (this: This, message: Message) => unknown>(
    method: Method,
    context: ClassMethodDecoratorContext<This, Method>,
  ): void;
}

/**
 * Marks a method as a follower of `pattern` (several `@following` may stack on one method). Instances
 * are registered by `@Follower` once constructed, or by `bus.register(instance)`. On a `static` method
 * the class itself follows from its definition on (`this` is the class); `bus.unregister(TheClass)` stops it.
 * @example
 * ＠Follower
 * class Logger {
 *   ＠following("*:log", { guard: (m) => m.args.length > 0 })
 *   log(message: Message) { console.log(message.args[0]); }
 * }
 */
export function following(pattern: string, options: FollowingOptions = {}): FollowingDecorator {
  checkOptions("@following options", options, "an object ({ guard?, bus? })");
  if (options.guard !== undefined && typeof options.guard !== "function") {
    throw new InvalidArgumentError("guard", options.guard, "a function");
  }
  refuseGeneratorFunction("guard", options.guard);
  refuseClassConstructor("guard", options.guard);
  checkBusOption("@following option bus", options.bus);
  // Validate now, so a bad pattern fails when the class is defined, not when it is first constructed.
  followingSpec(pattern, "", undefined);
  const onStatic = (cls: object, method: string | symbol): void => {
    // Standard decorators run static initializers on the class as `@Follower` replaced it.
    addStaticSpec(registrationKey(cls), followingSpec(pattern, method, options.guard));
    // Registering again adds the followers declared since: every static @following of the class counts.
    // Not on a closed bus, as for instances (r30): BusClosedError out of a class definition failed the
    // module defining it for good; the class can still be registered on another bus.
    const bus = options.bus ?? defaultBus;
    if (!bus.closed) bus.register(cls);
  };
  const checkInstanceOptions = (method: unknown): void => {
    if (options.bus !== undefined) {
      throw new InvalidArgumentError(
        `@following option bus on instance method ${String(method)}`,
        options.bus.id,
        "no bus: instances register on their @Follower's bus (or the bus you register them with)",
      );
    }
  };
  return ((target: unknown, keyOrContext: unknown, descriptor?: PropertyDescriptor): void => {
    if (isStandardContext(keyOrContext)) {
      if (keyOrContext.kind !== "method" || keyOrContext.private) {
        throw new InvalidArgumentError("@following target", keyOrContext.name, "a public method (instance or static)");
      }
      refuseGeneratorFunction(`@following method ${String(keyOrContext.name)}`, target);
      const method = keyOrContext.name;
      if (keyOrContext.static) {
        keyOrContext.addInitializer(function (this: unknown) {
          onStatic(this as object, method);
        });
        return;
      }
      checkInstanceOptions(method);
      const metadata: unknown = keyOrContext.metadata;
      if (typeof metadata !== "object" || metadata === null) {
        throw new InvalidArgumentError("@following decorator metadata", metadata, "Symbol.metadata support (TypeScript >= 5.2)");
      }
      addMetadataSpec(metadata, followingSpec(pattern, method, options.guard));
      return;
    }
    if (typeof keyOrContext !== "string" && typeof keyOrContext !== "symbol") {
      throw new InvalidArgumentError("@following target", keyOrContext, "a method");
    }
    // As standard decorators refuse them: a getter, setter or field was accepted, and every message then
    // failed on it ("method ... is not a function"), a getter's value being called if it was one.
    checkLegacyMethod("@following target", keyOrContext, descriptor, "a public method (instance or static)");
    refuseGeneratorFunction(`@following method ${String(keyOrContext)}`, descriptor?.value);
    if (typeof target === "function") {
      onStatic(target, keyOrContext);
      return;
    }
    checkInstanceOptions(keyOrContext);
    addPrototypeSpec(target as object, followingSpec(pattern, keyOrContext, options.guard));
  }) as FollowingDecorator;
}

/** Options of `@Follower(...)`. */
export interface FollowerOptions {
  /** Bus the instances register on (default: `defaultBus`). */
  bus?: Bus;
}

// What `@Follower` takes: any class, abstract or not, whatever its constructor's visibility. Not a construct
// signature: a class whose constructor is private (a singleton's) or protected (a base's) has none that
// TypeScript shows, and `@Follower` on it did not compile; for the same reason the context is that of no
// class in particular (`ClassDecoratorContext<C>` needs a public one).
type AnyClass = { readonly prototype: object; readonly name: string };
// `any[]` is what TypeScript requires of a class that is extended generically (a mixin); internal only.
// biome-ignore lint/suspicious/noExplicitAny: mixin constructor signature
type ConcreteConstructor = new (...args: any[]) => object;

/** A class decorator usable with `experimentalDecorators` and with standard decorators. */
export type FollowerClassDecorator = <C extends AnyClass>(target: C, context?: ClassDecoratorContext<never>) => C;

/**
 * Makes every instance of the class, and of its subclasses, register its `@following` methods once it
 * is constructed (held weakly). Use bare (`@Follower`, default bus) or with options (`@Follower({ bus })`).
 */
export function Follower<C extends AnyClass>(target: C, context?: ClassDecoratorContext<never>): C;
/** `@Follower({ bus })`: instances register their `@following` methods on `bus` once constructed. */
export function Follower(options: FollowerOptions): FollowerClassDecorator;
export function Follower<C extends AnyClass>(
  targetOrOptions: C | FollowerOptions,
  context?: ClassDecoratorContext<never>,
): C | FollowerClassDecorator {
  // Bare on a legacy method, it took the prototype for options and silently did nothing.
  if (typeof targetOrOptions === "function" || context !== undefined) {
    return followerClass(targetOrOptions as C, undefined, context);
  }
  checkOptions("@Follower argument", targetOrOptions, "a class or { bus }");
  const { bus } = targetOrOptions as FollowerOptions;
  checkBusOption("@Follower option bus", bus);
  return <D extends AnyClass>(target: D, context?: ClassDecoratorContext<never>) => followerClass(target, bus, context);
}

// Wrapper class → the bus its instances register on.
const followerBuses = new WeakMap<object, Bus | undefined>();

function followerClass<C extends AnyClass>(target: C, bus: Bus | undefined, context: unknown): C {
  // On a method or a field (its key, or a context of another kind): "Class extends value ... is not a
  // constructor" named no member.
  const isClass =
    typeof (target as unknown) === "function" &&
    (context === undefined || (isStandardContext(context) && context.kind === "class"));
  if (!isClass) {
    throw new InvalidArgumentError(
      "@Follower target",
      isStandardContext(context) ? context.name : (context ?? target),
      "a class",
    );
  }
  // Extended as a concrete class: an abstract one is only ever constructed through a subclass.
  const registering = class extends (target as unknown as ConcreteConstructor) {
    // biome-ignore lint/suspicious/noExplicitAny: forwards any constructor arguments
    constructor(...args: any[]) {
      super(...args);
      registerBuilt(this, new.target, registering);
    }
  };
  Object.defineProperty(registering, "name", { value: target.name });
  followerBuses.set(registering, bus);
  recordWrapper(registering, target);
  return registering as unknown as C;
}

// Registration happens once, when the instance is built: in the outermost @Follower constructor of its
// class chain, on the buses of every @Follower in the chain. A subclass's own @following methods are
// known by then (decorators run when classes are defined, before any instance exists).
function registerBuilt(instance: object, constructed: unknown, wrapper: object): void {
  for (let cls: unknown = constructed; typeof cls === "function" && cls !== wrapper; cls = Object.getPrototypeOf(cls)) {
    if (followerBuses.has(cls)) return; // a @Follower subclass registers once its own constructor is done
  }
  if (followingSpecsOf(instance).length === 0) return; // nothing follows (yet): e.g. a base class alone
  const buses = new Set<Bus>();
  for (let cls: unknown = constructed; typeof cls === "function"; cls = Object.getPrototypeOf(cls)) {
    if (followerBuses.has(cls)) buses.add(followerBuses.get(cls) ?? defaultBus);
  }
  // A closed bus has no followers to add: registering threw BusClosedError out of the constructor (every
  // later `new` of the class failed), after the buses before it in the chain had registered the instance.
  for (const bus of buses) if (!bus.closed) bus.register(instance);
}
