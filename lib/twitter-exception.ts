import type { UntypedBus, UntypedBusOnly } from "./auto-twitter.js";
import type { Bus } from "./bus.js";
import { checkBusOption, checkOptions } from "./bus-option.js";
import { isThenable } from "./concurrency-limiter.js";
import { defaultBus } from "./default-bus.js";
import { describe } from "./errors.js";
import { parseIdentifier } from "./identifier.js";
import type { EventMap, SendArgsOf, Untyped } from "./event-map.js";
import { type Kwargs, kw } from "./kwargs.js";
import { type FunctionWrapper, functionWrapper } from "./method-wrapper.js";
import { errorPayload } from "./request.js";

/** Options of `twitterException` (`Events`: the map of a typed bus). */
export interface TwitterExceptionOptions<Events extends EventMap | Untyped = Untyped> {
  /** Throw the error on after sending it (default false: the call returns `undefined`, as in berryMQ 0.3). */
  reraise?: boolean;
  /** Send the stack trace, not just `"Name: message"` (default true). */
  withTraceback?: boolean;
  /** Bus to send on (default: `defaultBus`); on a typed bus the identifier must carry what is sent. */
  bus?: Bus<Events>;
}

/** What `twitterException` sends after the identifier: the error text, and kwargs `{ type, message }`. */
export type ExceptionArgs = [text: string, kwargs: Kwargs<{ type: string; message: string }>];

/**
 * The identifiers of a map whose payload takes what `twitterException` sends: {@link ExceptionArgs}, or
 * an args tuple taking the text (kwargs a map leaves undeclared are any record).
 */
export type ExceptionIdOf<Events extends EventMap> = {
  [K in keyof Events & string]: ExceptionArgs extends SendArgsOf<Events[K]>
    ? K
    : Events[K] extends readonly unknown[]
      ? [text: string] extends Events[K]
        ? K
        : never
      : never;
}[keyof Events & string];

/**
 * berryMQ 0.3's `twitter_exception`: when the wrapped function or method throws (or its promise
 * rejects), sends `identifier` with the error text (its stack, or `"Name: message"`) as the only
 * argument and kwargs `{ type, message }`; then returns `undefined`, or rethrows with `reraise: true`.
 * @example
 * const parse = twitterException("parse:failed")((text: string) => JSON.parse(text));
 * parse("{"); // sends "parse:failed" ["SyntaxError: ..."] { type: "SyntaxError", message: "..." }; returns undefined
 */
export function twitterException<Events extends EventMap, const P extends ExceptionIdOf<Events>>(
  identifier: P,
  options: TwitterExceptionOptions<Events> & { bus: Bus<Events> },
): FunctionWrapper;
/** `twitterException` on an untyped bus (or the default bus): sends `identifier` when the wrapped function throws. */
export function twitterException<O extends TwitterExceptionOptions>(
  identifier: string,
  options?: O & UntypedBusOnly<O> & { bus?: UntypedBus },
): FunctionWrapper;
export function twitterException(identifier: string, options: TwitterExceptionOptions<never> = {}): FunctionWrapper {
  checkOptions("twitterException options", options, "an object");
  checkBusOption("twitterException option bus", options.bus);
  const id = parseIdentifier(identifier).id;
  const report = (error: unknown): void => {
    const bus = (options.bus as Bus | undefined) ?? defaultBus;
    // A closed bus has no follower left: its BusClosedError took the place of the error (or of `undefined`).
    if (bus.closed) return;
    let type: unknown;
    let message: unknown;
    let text: string;
    try {
      type = error instanceof Error ? error.name : typeof error;
      message = error instanceof Error ? error.message : describe(error);
      text = error instanceof Error && options.withTraceback !== false && error.stack ? error.stack : `${type}: ${message}`;
    } catch {
      // A getter or Proxy trap of the thrown value threw: what it threw took the place of the error.
      ({ name: type, message } = errorPayload(error));
      text = `${type}: ${message}`;
    }
    bus.twitter(id, text, kw({ type, message }));
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
