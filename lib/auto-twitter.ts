import type { Bus } from "./bus.js";
import { isThenable } from "./concurrency-limiter.js";
import { isStandardContext } from "./decorator-context.js";
import { defaultBus } from "./default-bus.js";
import { InvalidArgumentError } from "./errors.js";
import { parseIdentifier } from "./identifier.js";

/** Options of `autoTwitter`. */
export interface AutoTwitterOptions {
  /** Send `name:entry` (with the call's arguments) before the call; default true. */
  entry?: boolean;
  /** Send `name:exit` (with the result, awaited) after the call; default true. */
  exit?: boolean;
  /** Bus to send on (default: `defaultBus`). */
  bus?: Bus;
}

type AnyFunction = (this: never, ...args: never[]) => unknown;

/** Wraps a function, or decorates a method in either decorator mode. */
export interface AutoTwitterDecorator {
  <F extends AnyFunction>(fn: F, context?: ClassMethodDecoratorContext): F;
  (prototype: object, key: string | symbol, descriptor: PropertyDescriptor): PropertyDescriptor;
}

/**
 * Sends `name:entry` before and `name:exit` after each call of the wrapped function or method (berryMQ's
 * `auto_twitter`); a call that throws or rejects sends `name:error` with the error, then rethrows.
 * @example
 * const save = autoTwitter("save")((doc: string) => doc.length);
 * save("hello"); // sends "save:entry" ["hello"], then "save:exit" [5]
 */
export function autoTwitter(name: string, options: AutoTwitterOptions = {}): AutoTwitterDecorator {
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
      const bus = options.bus ?? defaultBus;
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
