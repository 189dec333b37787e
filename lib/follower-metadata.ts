import "reflect-metadata";
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

// Legacy decorators see the prototype: the specs live there as reflect-metadata.
const METADATA_KEY = "berrymq:following";
// Standard decorators see each instance through addInitializer: specs are kept per instance.
const instanceSpecs = new WeakMap<object, FollowingSpec[]>();

/** Builds a spec, validating the pattern at decoration time. */
export function followingSpec(pattern: string, method: string | symbol, guard: Guard | undefined): FollowingSpec {
  return Object.freeze({ pattern: parseIdentifier(pattern), method, guard });
}

/** Records a spec on a prototype (experimentalDecorators). */
export function addPrototypeSpec(prototype: object, spec: FollowingSpec): void {
  const own = (Reflect.getOwnMetadata(METADATA_KEY, prototype) as FollowingSpec[] | undefined) ?? [];
  Reflect.defineMetadata(METADATA_KEY, [...own, spec], prototype);
}

/** Records a spec on an instance (standard decorators, from a method initializer). */
export function addInstanceSpec(instance: object, spec: FollowingSpec): void {
  const list = instanceSpecs.get(instance);
  if (list === undefined) instanceSpecs.set(instance, [spec]);
  else list.push(spec);
}

/** Every `@following` spec of an instance, base classes first, each method/pattern pair once. */
export function followingSpecsOf(instance: object): FollowingSpec[] {
  const chain: object[] = [];
  for (let proto: unknown = Object.getPrototypeOf(instance); isObject(proto); proto = Object.getPrototypeOf(proto)) {
    chain.unshift(proto);
  }
  const found: FollowingSpec[] = [];
  for (const proto of chain) {
    found.push(...((Reflect.getOwnMetadata(METADATA_KEY, proto) as FollowingSpec[] | undefined) ?? []));
  }
  found.push(...(instanceSpecs.get(instance) ?? []));
  const seen = new Set<string>();
  return found.filter((spec) => {
    const key = `${String(spec.method)}\u0000${spec.pattern.id}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function isObject(value: unknown): value is object {
  return typeof value === "object" && value !== null && value !== Object.prototype;
}
