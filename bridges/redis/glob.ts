import { type Identifier, parseIdentifier } from "../../lib/identifier.js";

const GLOB_SPECIAL = /[*?[\]\\]/g;

/** Escapes Redis glob characters (`* ? [ ] \`) so that `text` matches only itself in a PSUBSCRIBE pattern. */
export function escapeGlob(text: string): string {
  return text.replace(GLOB_SPECIAL, "\\$&");
}

/** The pub/sub channel a message with this identifier is published on. */
export function channelOf(prefix: string, identifier: string): string {
  return prefix + identifier;
}

/**
 * The PSUBSCRIBE patterns that receive every message matching one of `filters`, the way berryMQ matches:
 * symmetric wildcards, so a concrete part also listens for messages *sent* with `*` in that part.
 * The patterns may overlap; the link drops the second copy by messageId.
 * @example subscriptionPatterns("bq:", ["job:*"]) // ["bq:job:*", "bq:\\*:*"]
 */
export function subscriptionPatterns(prefix: string, filters: readonly (string | Identifier)[]): string[] {
  const parsed = filters.map((filter) => (typeof filter === "string" ? parseIdentifier(filter) : filter));
  const base = escapeGlob(prefix);
  if (parsed.some((filter) => filter.name === "*" && filter.action === "*")) return [`${base}*`];
  const patterns = new Set<string>();
  for (const filter of parsed) {
    for (const name of partPatterns(filter.name)) {
      for (const action of partPatterns(filter.action)) patterns.add(`${base}${name}:${action}`);
    }
  }
  return [...patterns];
}

function partPatterns(part: string): string[] {
  return part === "*" ? ["*"] : [escapeGlob(part), "\\*"];
}
