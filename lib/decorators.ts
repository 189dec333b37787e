import type { Bus } from "./bus.js";
import { isStandardContext } from "./decorator-context.js";
import { defaultBus } from "./default-bus.js";
import { InvalidArgumentError } from "./errors.js";
import { addInstanceSpec, addPrototypeSpec, followingSpec } from "./follower-metadata.js";
import type { EventMap, Untyped } from "./event-map.js";
import type { Message } from "./message.js";
import type { MessageFor, PatternOf } from "./typed-identifiers.js";

/** Options of `@following` (`M`: the message type under {@link typedFollowing}). */
export interface FollowingOptions<M extends Message = Message> {
  /** Receives only messages for which this returns true. */
  guard?: (message: M) => boolean;
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
  (prototype: object, key: string | symbol, descriptor: PropertyDescriptor): void;
  (method: (this: never, message: Message) => unknown, context: ClassMethodDecoratorContext): void;
}

/**
 * Marks a method as a follower of `pattern` (several `@following` may stack on one method). Instances
 * are registered by `@Follower` on construction, or by `bus.register(instance)`.
 * @example
 * ＠Follower
 * class Logger {
 *   ＠following("*:log", { guard: (m) => m.args.length > 0 })
 *   log(message: Message) { console.log(message.args[0]); }
 * }
 */
export function following(pattern: string, options: FollowingOptions = {}): FollowingDecorator {
  if (options.guard !== undefined && typeof options.guard !== "function") {
    throw new InvalidArgumentError("guard", options.guard, "a function");
  }
  // Validate now, so a bad pattern fails when the class is defined, not when it is first constructed.
  followingSpec(pattern, "", undefined);
  return ((target: unknown, keyOrContext: unknown): void => {
    if (isStandardContext(keyOrContext)) {
      if (keyOrContext.kind !== "method" || keyOrContext.static) {
        throw new InvalidArgumentError("@following target", keyOrContext.name, "an instance method");
      }
      const spec = followingSpec(pattern, keyOrContext.name, options.guard);
      keyOrContext.addInitializer(function (this: unknown) {
        addInstanceSpec(this as object, spec);
      });
      return;
    }
    if (typeof keyOrContext !== "string" && typeof keyOrContext !== "symbol") {
      throw new InvalidArgumentError("@following target", keyOrContext, "an instance method");
    }
    if (typeof target === "function") {
      throw new InvalidArgumentError("@following target", keyOrContext, "an instance method, not a static one");
    }
    addPrototypeSpec(target as object, followingSpec(pattern, keyOrContext, options.guard));
  }) as FollowingDecorator;
}

/** Options of `@Follower(...)`. */
export interface FollowerOptions {
  /** Bus the instances register on (default: `defaultBus`). */
  bus?: Bus;
}

// `any[]` is what TypeScript requires of a class that is extended generically (a mixin); internal only.
// biome-ignore lint/suspicious/noExplicitAny: mixin constructor signature
type Constructor = new (...args: any[]) => object;

/** A class decorator usable with `experimentalDecorators` and with standard decorators. */
export type FollowerClassDecorator = <C extends Constructor>(target: C, context?: ClassDecoratorContext<C>) => C;

/**
 * Makes every instance of the class register its `@following` methods on construction (held weakly).
 * Use bare (`@Follower`, default bus) or with options (`@Follower({ bus })`).
 */
export function Follower<C extends Constructor>(target: C, context?: ClassDecoratorContext<C>): C;
export function Follower(options: FollowerOptions): FollowerClassDecorator;
export function Follower<C extends Constructor>(
  targetOrOptions: C | FollowerOptions,
  _context?: ClassDecoratorContext<C>,
): C | FollowerClassDecorator {
  if (typeof targetOrOptions === "function") return followerClass(targetOrOptions, undefined);
  if (typeof targetOrOptions !== "object" || targetOrOptions === null) {
    throw new InvalidArgumentError("@Follower argument", targetOrOptions, "a class or { bus }");
  }
  const { bus } = targetOrOptions;
  return <D extends Constructor>(target: D) => followerClass(target, bus);
}

function followerClass<C extends Constructor>(target: C, bus: Bus | undefined): C {
  const registering = class extends target {
    // biome-ignore lint/suspicious/noExplicitAny: forwards any constructor arguments
    constructor(...args: any[]) {
      super(...args);
      (bus ?? defaultBus).register(this);
    }
  };
  Object.defineProperty(registering, "name", { value: target.name });
  return registering;
}
