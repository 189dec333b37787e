// Identifiers at the type level: parsing, symmetric wildcard matching, and the payload a pattern can
// carry. Compile time only; nothing here exists at run time.
import type { ArgsOf, EventMap, IsUntyped, KwargsOf, SendArgsOf } from "./event-map.js";
import type { Message } from "./message.js";

// Splits at the last `sep` (the runtime parser splits name from action at the last ":").
type SplitLast<S extends string, Sep extends string, Head extends string = never> = S extends `${infer Left}${Sep}${infer Right}`
  ? SplitLast<Right, Sep, [Head] extends [never] ? Left : `${Head}${Sep}${Left}`>
  : [Head] extends [never]
    ? [S, never]
    : [Head, S];

/** An identifier string parsed at the type level: `"x@ns:run"` is `{ name: "x"; ns: "ns"; action: "run" }`. */
export type ParsedId<S extends string> =
  SplitLast<S, ":"> extends [infer Full extends string, infer Action]
    ? SplitLast<Full, "@"> extends [infer Name extends string, infer Ns]
      ? { name: Name; ns: [Ns] extends [never] ? "" : Ns; action: [Action] extends [never] ? "*" : Action }
      : never
    : never;

type PartMatches<A extends string, B extends string> = A extends "*" ? true : B extends "*" ? true : A extends B ? true : false;

/**
 * Whether two identifiers match symmetrically (a `*` name or action on either side matches anything
 * there); namespaces must be equal (`"*@ns:run"` matches `"x@ns:run"`, never `"x:run"`).
 */
export type IdMatches<A extends string, B extends string> =
  ParsedId<A> extends infer X extends ParsedIdShape
    ? ParsedId<B> extends infer Y extends ParsedIdShape
      ? X["ns"] extends Y["ns"]
        ? Y["ns"] extends X["ns"]
          ? PartMatches<X["name"], Y["name"]> extends true
            ? PartMatches<X["action"], Y["action"]>
            : false
          : false
        : false
      : false
    : false;

interface ParsedIdShape {
  name: string;
  ns: string;
  action: string;
}

/**
 * The identifiers of an event map that a pattern (or a union of patterns) matches; a concrete key
 * matches itself at once. The union is spread through an `infer`red copy of `P`: spread directly,
 * TypeScript would expand it over all of `PatternOf<E>` while inferring `P` (~2M instantiations at 500
 * identifiers, per call).
 */
export type MatchingIds<E extends EventMap, P extends string> = [P] extends [infer Q extends string]
  ? Q extends unknown
    ? MatchOne<E, Q>
    : never
  : never;

type MatchOne<E extends EventMap, P extends string> = [P] extends [keyof E & `${string}:${string}`]
  ? [P] extends [`${string}*${string}`]
    ? Scan<E, P>
    : P
  : Scan<E, P>;

type Scan<E extends EventMap, P extends string> = {
  [K in Candidates<E, P>]: IdMatches<K, P> extends true ? K : never;
}[Candidates<E, P>];

// A cheap first cut by the pattern's literal action or name (keys declared with a wildcard part stay in);
// IdMatches then decides exactly.
type Candidates<E extends EventMap, P extends string> =
  ParsedId<P> extends { name: infer N extends string; action: infer A extends string }
    ? A extends "*"
      ? N extends "*"
        ? keyof E & string
        : Extract<keyof E & string, `${N}${string}` | `*${string}`>
      : Extract<keyof E & string, `${string}:${A}` | `${string}:*`>
    : keyof E & string;

/**
 * Every pattern usable on a bus: any string on an untyped bus; on a typed one, each identifier of the
 * map and each wildcard that reaches one (`"n:*"`, `"*:a"`, `"*:*"`, the short forms `"n"` and `"*"`),
 * within its namespace. Editors offer them as completions.
 */
export type PatternOf<E> =
  IsUntyped<E> extends true
    ? string
    : E extends EventMap
      ? { [K in keyof E & string]: IdsReaching<K> | ShortFormsOf<K> }[keyof E & string]
      : never;

// `"n"` means `"n:*"`, `"*"` means `"*:*"` (and `"n@ns"` means `"n@ns:*"`). A name with a ":" has no
// short form: `"a:b"` for the key `"a:b:c"` is name `a`, action `b` at run time, which matches nothing.
type ShortFormsOf<K extends string> =
  ParsedId<K> extends infer X extends ParsedIdShape
    ? X["ns"] extends ""
      ? ShortName<X["name"]> | "*"
      : `${ShortName<X["name"]> | "*"}@${X["ns"]}`
    : never;

type ShortName<N extends string> = N extends `${string}:${string}` ? never : N;

/** Every identifier string naming `K` or a wildcard that reaches it: `K`, `"n:*"`, `"*:a"`, `"*:*"` (namespace kept). */
export type IdsReaching<K extends string> =
  ParsedId<K> extends infer X extends ParsedIdShape
    ? X["ns"] extends ""
      ? `${X["name"] | "*"}:${X["action"] | "*"}`
      : `${X["name"] | "*"}@${X["ns"]}:${X["action"] | "*"}`
    : never;

/**
 * A message of identifier `K` with payload `P`: `args` and `kwargs` typed; `id`, `name`, `action` are
 * `K`'s or a sender's wildcard that reached it (symmetric matching), so `if (m.id === "temp:read")`
 * narrows a union.
 */
export interface TypedMessage<K extends string, P> extends Message {
  readonly id: IdsReaching<K>;
  readonly name: NameOf<K>;
  readonly action: ActionOf<K> | "*";
  readonly args: Readonly<ArgsOf<P>>;
  readonly kwargs: Readonly<KwargsOf<P>>;
}

// The name as a message carries it: the namespace may be kept on it (`"x@ns"`), and a sender's `*` too.
type NameOf<K extends string> =
  ParsedId<K> extends { name: infer N extends string; ns: infer Ns extends string }
    ? Ns extends ""
      ? N | "*"
      : N | "*" | `${N | "*"}@${Ns}`
    : string;

type ActionOf<K extends string> = ParsedId<K> extends { action: infer A extends string } ? A : string;

/** What a follower of pattern `P` receives: the union of the messages of every identifier it matches. */
export type MessageFor<E, P extends string> =
  IsUntyped<E> extends true
    ? Message
    : E extends EventMap
      ? { [K in MatchingIds<E, P>]: TypedMessage<K, E[K]> }[MatchingIds<E, P>]
      : Message;

/** The payload of a pattern: the union of the payloads of every identifier it matches. */
export type PayloadOf<E extends EventMap, P extends string> = E[MatchingIds<E, P>];

type UnionToIntersection<U> = (U extends unknown ? (value: U) => void : never) extends (value: infer I) => void ? I : never;

/**
 * What `twitter(P, ...args)` takes after the identifier: a concrete identifier's args (and `kw(...)`);
 * for a sender wildcard, args every identifier it reaches accepts (their intersection; `never` when
 * their lengths cannot agree, e.g. `[number]` and `[]`).
 */
export type SendArgs<E, P extends string> =
  IsUntyped<E> extends true
    ? unknown[]
    : E extends EventMap
      ? CommonArgs<{ [K in MatchingIds<E, P>]: { args: SendArgsOf<E[K]> } }[MatchingIds<E, P>]>
      : never;

// When every identifier takes the same args (the usual case for a wildcard), those args, picked from any
// one of them. Intersected instead, the args of a payload without required kwargs (`[...A] | [...A, kw]`:
// every `{ args, answer }` form) made 2^n tuples for n identifiers: "too complex to represent" from 17
// on. Identifiers whose args differ are still intersected.
type CommonArgs<U> = [OneOf<U>] extends [infer S]
  ? [U extends unknown ? ([S] extends [U] ? ([U] extends [S] ? never : U) : U) : never] extends [never]
    ? S extends { args: infer A extends readonly unknown[] }
      ? A
      : never
    : IntersectedArgs<U>
  : never;

type OneOf<U> = UnionToIntersection<U extends unknown ? () => U : never> extends () => infer R ? R : never;

type IntersectedArgs<U> =
  UnionToIntersection<U> extends { args: infer A extends readonly unknown[] }
    ? [A["length"]] extends [never]
      ? never
      : A
    : never;

/**
 * What a follower of `P` answers an `ask`/`request`: the map's `answer` for each identifier `P` matches
 * (`{ args, answer }`), `unknown` where one declares none.
 */
export type AnswerOf<E, P extends string> =
  IsUntyped<E> extends true ? unknown : E extends EventMap ? AnswerOfPayload<E[MatchingIds<E, P>]> : unknown;

type AnswerOfPayload<T> = T extends { readonly answer: infer A } ? A : unknown;
