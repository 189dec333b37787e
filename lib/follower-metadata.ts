import "reflect-metadata";
import { InvalidArgumentError } from "./errors.js";
import { type Identifier, parseIdentifier } from "./identifier.js";
import type { Message } from "./message.js";

/** Decides per message whether a follower receives it (berryMQ's guard condition). */
export type Guard = (message: Message) => boolean;

/** One `@following` declaration: which method receives which pattern. */
export interface FollowingSpec {
  readonly pattern: Identifier;
  readonly method: string | symbol;
  readonly guard: Guard | undefined;
}

// Standard decorators record into the class's decorator metadata (`context.metadata`, exposed as
// `Class[Symbol.metadata]`). Node has no `Symbol.metadata` yet, and TypeScript's output only creates
// metadata when it exists, so it is defined here, before any decorated class can be evaluated (a class
// using `@following` imports this module first). `Symbol.for` is what esbuild/tsx fall back to as well.
const symbols = Symbol as { metadata?: symbol };
symbols.metadata ??= Symbol.for("Symbol.metadata");
const METADATA: symbol = symbols.metadata;

// Legacy decorators see the prototype: the specs live there as reflect-metadata.
const METADATA_KEY = "berrymq:following";
// Key of the instance specs inside a standard decorator metadata object (own property per class).
const STANDARD_KEY = Symbol("berrymq.following");
// Static (class-level) specs, both modes, keyed by the class that declares them.
const staticSpecs = new WeakMap<object, FollowingSpec[]>();
// `@Follower` replaces a class by a subclass of it: wrapper → the class it wraps, and back.
const wrapped = new WeakMap<object, object>();
const wrappers = new WeakMap<object, object>();

/** Builds a spec, validating the pattern at decoration time. */
export function followingSpec(pattern: string, method: string | symbol, guard: Guard | undefined): FollowingSpec {
  return Object.freeze({ pattern: parseIdentifier(pattern), method, guard });
}

/** Records a spec on a prototype (experimentalDecorators). */
export function addPrototypeSpec(prototype: object, spec: FollowingSpec): void {
  const own = (Reflect.getOwnMetadata(METADATA_KEY, prototype) as FollowingSpec[] | undefined) ?? [];
  if (isNew(own, spec)) Reflect.defineMetadata(METADATA_KEY, [...own, spec], prototype);
}

/** Records a spec in a class's standard decorator metadata (standard decorators). */
export function addMetadataSpec(metadata: object, spec: FollowingSpec): void {
  const store = metadata as Record<symbol, FollowingSpec[] | undefined>;
  if (!Object.hasOwn(metadata, STANDARD_KEY)) store[STANDARD_KEY] = [spec];
  else if (isNew(store[STANDARD_KEY] as FollowingSpec[], spec)) (store[STANDARD_KEY] as FollowingSpec[]).push(spec);
}

/** Records a static method's spec on its class (both modes). */
export function addStaticSpec(cls: object, spec: FollowingSpec): void {
  const list = staticSpecs.get(cls);
  if (list === undefined) staticSpecs.set(cls, [spec]);
  else if (isNew(list, spec)) list.push(spec);
}

// One class's method follows a pattern once: the same declaration again adds nothing; the same pattern
// with another guard is refused (one of the two guards was silently dropped).
function isNew(declared: readonly FollowingSpec[], spec: FollowingSpec): boolean {
  const same = declared.find((other) => other.method === spec.method && other.pattern.id === spec.pattern.id);
  if (same === undefined) return true;
  if (same.guard === spec.guard) return false;
  throw new InvalidArgumentError(
    `guard of @following("${spec.pattern.id}") on method ${String(spec.method)}`,
    spec.guard,
    "the guard of the method's other declaration of this pattern: one declaration per method and pattern (combine the guards into one)",
  );
}

/** Records that `wrapper` (made by `@Follower`) stands for `target`. */
export function recordWrapper(wrapper: object, target: object): void {
  wrapped.set(wrapper, target);
  wrappers.set(target, wrapper);
}

/**
 * What a follower of registration key `key` runs on: an instance is itself; a class is its outermost
 * `@Follower` wrapper, the class its code names (static writes to `this` went to the wrapped class).
 */
export function followerThis(key: object): object {
  if (typeof key !== "function") return key;
  let outer: object = key;
  for (let wrapper = wrappers.get(outer); wrapper !== undefined; wrapper = wrappers.get(outer)) outer = wrapper;
  return outer;
}

/**
 * What a bus registers `target` under: an instance is itself; a class is the class that declared its
 * static followers (through any `@Follower` wrapper, so `bus.unregister(TheClass)` finds them).
 */
export function registrationKey(target: object): object {
  let key = target;
  for (let inner = wrapped.get(key); inner !== undefined; inner = wrapped.get(key)) key = inner;
  return key;
}

/**
 * Every `@following` spec of a registration key: for an instance, its class chain's instance methods,
 * base classes first; for a class, its own static methods. Each method/pattern pair once: where a
 * subclass declares a pair its base declares too, the subclass's declaration (its guard) is the one kept.
 */
export function followingSpecsOf(target: object): FollowingSpec[] {
  if (typeof target === "function") return [...(staticSpecs.get(target) ?? [])];
  const chain: object[] = [];
  for (let proto: unknown = Object.getPrototypeOf(target); isObject(proto); proto = Object.getPrototypeOf(proto)) {
    chain.unshift(proto);
  }
  const found: FollowingSpec[] = [];
  for (const proto of chain) {
    found.push(...((Reflect.getOwnMetadata(METADATA_KEY, proto) as FollowingSpec[] | undefined) ?? []));
    found.push(...metadataSpecsOf(proto));
  }
  // Keyed by the method itself: two symbols with one description are two methods (String() would merge
  // them). A later (more derived) declaration takes the place of the earlier one, in its position.
  const at = new Map<string | symbol, Map<string, number>>();
  const kept: FollowingSpec[] = [];
  for (const spec of found) {
    let patterns = at.get(spec.method);
    if (patterns === undefined) {
      patterns = new Map();
      at.set(spec.method, patterns);
    }
    const index = patterns.get(spec.pattern.id);
    if (index === undefined) {
      patterns.set(spec.pattern.id, kept.length);
      kept.push(spec);
    } else kept[index] = spec;
  }
  return kept;
}

// The standard-decorator specs a prototype's own class declared.
function metadataSpecsOf(proto: object): readonly FollowingSpec[] {
  if (!Object.hasOwn(proto, "constructor")) return [];
  const cls = (proto as { constructor: unknown }).constructor;
  if (typeof cls !== "function" || !Object.hasOwn(cls, METADATA)) return [];
  const metadata = (cls as unknown as Record<symbol, unknown>)[METADATA];
  if (typeof metadata !== "object" || metadata === null || !Object.hasOwn(metadata, STANDARD_KEY)) return [];
  return (metadata as Record<symbol, FollowingSpec[]>)[STANDARD_KEY] ?? [];
}

function isObject(value: unknown): value is object {
  return typeof value === "object" && value !== null && value !== Object.prototype;
}
