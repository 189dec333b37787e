import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { Bus } from "./bus.js";
import { isThenable } from "./concurrency-limiter.js";
import { describe, errorText, InvalidArgumentError } from "./errors.js";
import type { EventMap, Untyped } from "./event-map.js";
import { type Identifier, isWildcard, matches, parseIdentifier } from "./identifier.js";
import { isPlainObject, kw, NO_KWARGS, splitKwargs } from "./kwargs.js";
import { createMessage, type Message } from "./message.js";
import { SchemaValidationError } from "./schema-error.js";
import type { PatternOf, SendArgs } from "./typed-identifiers.js";

/**
 * The schema of one identifier (any Standard Schema: zod, valibot, arktype…): a schema of the args
 * array, or `{ args, kwargs }` schemas when the identifier takes keyword arguments.
 */
export type SchemaEntry =
  | StandardSchemaV1<unknown, readonly unknown[]>
  | {
      readonly args: StandardSchemaV1<unknown, readonly unknown[]>;
      readonly kwargs?: StandardSchemaV1<unknown, Record<string, unknown>>;
    };

/** Schemas per concrete identifier: the run-time half of an event map. */
export type SchemaMap = Readonly<Record<string, SchemaEntry>>;

/**
 * The event map a schema map declares (their outputs), so one declaration gives both.
 * @example type Events = EventsOf<typeof schemas>; const bus = new Bus<Events>();
 */
export type EventsOf<S extends SchemaMap> = {
  -readonly [K in keyof S & string]: S[K] extends StandardSchemaV1<unknown, infer A extends readonly unknown[]>
    ? A
    : S[K] extends {
          readonly args: StandardSchemaV1<unknown, infer A extends readonly unknown[]>;
          readonly kwargs: StandardSchemaV1<unknown, infer W extends Record<string, unknown>>;
        }
      ? { args: A; kwargs: W }
      : S[K] extends { readonly args: StandardSchemaV1<unknown, infer A extends readonly unknown[]> }
        ? A
        : never;
};

/** A check's outcome: the message to inject (rebuilt with the schema's output), or the schema's issues. */
export type SchemaOutcome =
  | { readonly message: Message; readonly issues?: undefined }
  | { readonly issues: readonly StandardSchemaV1.Issue[] };

interface Compiled {
  readonly identifier: Identifier;
  readonly args: StandardSchemaV1;
  readonly kwargs: StandardSchemaV1 | undefined;
}

/** A bus's schemas, ready to check messages: a concrete message by one look-up, a wildcard one by a scan. */
export class Schemas {
  readonly #byId = new Map<string, Compiled>();

  constructor(map: SchemaMap) {
    if (typeof map !== "object" || map === null) throw new InvalidArgumentError("schemas", map, "an object of Standard Schemas");
    for (const [key, entry] of Object.entries(map)) {
      const identifier = parseIdentifier(key);
      if (isWildcard(identifier)) throw new InvalidArgumentError(`schemas["${key}"]`, key, "a concrete identifier (no '*')");
      const args = isStandardSchema(entry) ? entry : isStandardSchema(entry?.args) ? entry.args : undefined;
      const kwargs = isStandardSchema(entry) ? undefined : entry?.kwargs;
      if (args === undefined || (kwargs !== undefined && !isStandardSchema(kwargs))) {
        throw new InvalidArgumentError(
          `schemas["${key}"]`,
          entry,
          "a Standard Schema of the args, or { args, kwargs? } of Standard Schemas",
        );
      }
      this.#byId.set(identifier.id, { identifier, args, kwargs });
    }
  }

  /** Whether some schema applies to this message (its identifier's own, or any a wildcard sender reaches). */
  covers(message: Pick<Message, "id" | "name" | "action">): boolean {
    if (this.#byId.has(message.id)) return true;
    return isWildcard(message) && this.#matching(message).length > 0;
  }

  /**
   * Checks a message against every schema its identifier reaches (a sender's wildcard must satisfy them
   * all). Synchronous when the schemas are; a valid concrete message comes back with the schema's output.
   */
  check(message: Message): SchemaOutcome | Promise<SchemaOutcome> {
    const own = this.#byId.get(message.id);
    const applicable = own !== undefined ? [own] : isWildcard(message) ? this.#matching(message) : [];
    const results: (StandardSchemaV1.Result<unknown> | Promise<StandardSchemaV1.Result<unknown>>)[] = [];
    for (const compiled of applicable) {
      results.push(run(compiled.args, message.args));
      if (compiled.kwargs !== undefined) results.push(run(compiled.kwargs, message.kwargs));
    }
    const finish = (settled: readonly StandardSchemaV1.Result<unknown>[]): SchemaOutcome => {
      const issues = settled.flatMap((result) => result.issues ?? []);
      if (issues.length > 0) return { issues };
      if (own === undefined) return { message };
      const args: unknown = (settled[0] as StandardSchemaV1.SuccessResult<unknown>).value;
      const kwargs: unknown =
        own.kwargs === undefined ? message.kwargs : ((settled[1] as StandardSchemaV1.SuccessResult<unknown>).value ?? NO_KWARGS);
      // An output no message can carry is a refusal: args that are no array were dropped (the followers
      // got the unchecked input instead), kwargs that are no plain object threw out of check().
      if (!Array.isArray(args)) return { issues: [{ message: `the schema's output ${describe(args)} is no array of args` }] };
      if (!isPlainObject(kwargs)) return { issues: [{ message: `the kwargs schema's output ${describe(kwargs)} is no plain object` }] };
      return { message: args === message.args && kwargs === message.kwargs ? message : rebuild(message, args, kwargs) };
    };
    if (!results.some(isThenable)) return finish(results as StandardSchemaV1.Result<unknown>[]);
    return Promise.all(results).then(finish);
  }

  #matching(message: Pick<Message, "id" | "name" | "action">): Compiled[] {
    return [...this.#byId.values()].filter((compiled) => matches(compiled.identifier, message.id));
  }
}

// A schema that throws, or returns what is no result object, is a refusal too, with that as the issue.
// Never throws: check() runs inside a link's receive path (a TypeError from `undefined.issues`, or from
// String() of what was thrown, escaped from there and from twitterChecked in place of the refusal).
function run(
  schema: StandardSchemaV1,
  value: unknown,
): StandardSchemaV1.Result<unknown> | Promise<StandardSchemaV1.Result<unknown>> {
  try {
    const result = schema["~standard"].validate(value);
    return isThenable(result) ? Promise.resolve(result).then(resultOf, refused) : resultOf(result);
  } catch (error) {
    return refused(error);
  }
}

function refused(error: unknown): StandardSchemaV1.FailureResult {
  return { issues: [{ message: `the schema threw: ${errorText(error)}` }] };
}

// The result's fields read once, here, into a plain result: a getter or Proxy trap of the schema's result
// that throws (on `issues`, `value`, or iterating the issues) is a refusal too. Read later by check(), it
// threw out of it, as a schema's throw did before.
function resultOf(result: unknown): StandardSchemaV1.Result<unknown> {
  if (typeof result !== "object" || result === null) {
    return { issues: [{ message: `the schema returned ${describe(result)}, no { value } or { issues }` }] };
  }
  try {
    const { value, issues } = result as { value?: unknown; issues?: unknown };
    if (issues === undefined || issues === null) return { value };
    // flatMap took issues that are no array as one issue.
    return { value, issues: Array.isArray(issues) ? [...issues] : [issues] } as StandardSchemaV1.Result<unknown>;
  } catch (error) {
    return refused(error);
  }
}

// Every field but the payload kept: without `to`, an answer checked here no longer settled its request,
// and a balanced request relayed through here reached every follower rather than its one bus.
function rebuild(message: Message, args: readonly unknown[], kwargs: Readonly<Record<string, unknown>>): Message {
  return createMessage({
    identifier: message.id,
    args,
    kwargs,
    messageId: message.messageId,
    timestamp: message.timestamp,
    hops: message.hops,
    replyTo: message.replyTo,
    inReplyTo: message.inReplyTo,
    to: message.to,
  });
}

function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return false;
  const props = (value as { "~standard"?: unknown })["~standard"];
  return typeof props === "object" && props !== null && typeof (props as { validate?: unknown }).validate === "function";
}

const registry = new WeakMap<Bus, Schemas>();

/**
 * Gives a bus run-time schemas: every message entering it through a link is checked before it reaches a
 * follower (an invalid one is counted in the link's `rejected`, reported on its `error` event, dropped).
 * Local `twitter` is not checked; {@link twitterChecked} checks when asked. Replaces earlier schemas.
 * @returns the bus, typed by the schemas' outputs.
 * @example
 * const bus = useSchemas(new Bus(), { "temp:read": z.tuple([z.number()]) });
 */
export function useSchemas<const S extends SchemaMap, E extends EventMap | Untyped>(bus: Bus<E>, schemas: S): Bus<EventsOf<S>> {
  registry.set(bus as Bus, new Schemas(schemas));
  return bus as unknown as Bus<EventsOf<S>>;
}

/** The schemas `useSchemas` gave this bus, if any. */
export function schemasOf<E extends EventMap | Untyped>(bus: Bus<E>): Schemas | undefined {
  return registry.get(bus as Bus);
}

/**
 * `bus.twitter` after checking the payload against the bus's schemas (a plain local `twitter` is not
 * checked); sends the schema's output. Without schemas it just sends.
 * @throws SchemaValidationError with the schema's issues (the promise rejects); nothing is sent then.
 * @example await twitterChecked(bus, "temp:read", 21.5);
 */
export async function twitterChecked<E extends EventMap | Untyped, const P extends PatternOf<E>>(
  bus: Bus<E>,
  identifier: P,
  ...args: Extract<SendArgs<E, P>, unknown[]>
): Promise<number> {
  const plain = bus as unknown as Bus;
  const schemas = schemasOf(bus);
  if (schemas === undefined) return plain.twitter(identifier, ...args);
  const split = splitKwargs(args);
  const probe = createMessage({
    identifier,
    args: split.args,
    kwargs: split.kwargs,
    messageId: `${plain.id}/check`,
    hops: [plain.id],
  });
  const outcome = await schemas.check(probe);
  if (outcome.issues !== undefined) throw new SchemaValidationError(probe.id, probe.messageId, outcome.issues);
  return plain.twitter(identifier, ...outcome.message.args, kw({ ...outcome.message.kwargs }));
}
