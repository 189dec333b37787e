import type { Bus } from "./bus.js";
import { isStandardContext } from "./decorator-context.js";
import { defaultBus } from "./default-bus.js";
import { InvalidArgumentError } from "./errors.js";
import { addInstanceSpec, addPrototypeSpec, followingSpec, type Guard } from "./follower-metadata.js";
import type { Message } from "./message.js";

/** Options of `@following`. */
export interface FollowingOptions {
  /** Receives only messages for which this returns true. */
  guard?: Guard;
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
