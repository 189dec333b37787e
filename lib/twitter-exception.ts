import type { Bus } from "./bus.js";
import { isThenable } from "./concurrency-limiter.js";
import { defaultBus } from "./default-bus.js";
import { describe } from "./errors.js";
import { parseIdentifier } from "./identifier.js";
import { kw } from "./kwargs.js";
import { type FunctionWrapper, functionWrapper } from "./method-wrapper.js";

/** Options of `twitterException`. */
export interface TwitterExceptionOptions {
  /** Throw the error on after sending it (default false: the call returns `undefined`, as in berryMQ 0.3). */
  reraise?: boolean;
  /** Send the stack trace, not just `"Name: message"` (default true). */
  withTraceback?: boolean;
  /** Bus to send on (default: `defaultBus`). */
  bus?: Bus;
}

/**
 * berryMQ 0.3's `twitter_exception`: when the wrapped function or method throws (or its promise
 * rejects), sends `identifier` with the error text (its stack, or `"Name: message"`) as the only
 * argument and kwargs `{ type, message }`; then returns `undefined`, or rethrows with `reraise: true`.
 * @example
 * const parse = twitterException("parse:failed")((text: string) => JSON.parse(text));
 * parse("{"); // sends "parse:failed" ["SyntaxError: ..."] { type: "SyntaxError", message: "..." }; returns undefined
 */
export function twitterException(identifier: string, options: TwitterExceptionOptions = {}): FunctionWrapper {
  const id = parseIdentifier(identifier).id;
  const report = (error: unknown): void => {
    const type = error instanceof Error ? error.name : typeof error;
    const message = error instanceof Error ? error.message : describe(error);
    const text = error instanceof Error && options.withTraceback !== false && error.stack ? error.stack : `${type}: ${message}`;
    (options.bus ?? defaultBus).twitter(id, text, kw({ type, message }));
  };
  const failed = (error: unknown): undefined => {
    report(error);
    if (options.reraise === true) throw error;
    return undefined;
  };
  return functionWrapper("twitterException", (fn) =>
    function (this: unknown, ...args: unknown[]): unknown {
      let result: unknown;
      try {
        result = fn.apply(this, args);
      } catch (error) {
        return failed(error);
      }
      return isThenable(result) ? Promise.resolve(result).then(undefined, failed) : result;
    },
  );
}
