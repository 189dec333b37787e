import { formatIdentifier, type Identifier, parseIdentifier, WILDCARD } from "../../lib/identifier.js";
import { REPLY_NAME } from "../../lib/reserved.js";

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
 * @example subscriptionPatterns("bq:", ["job:*"]) // ["bq:job:*", "bq:job@*:*", "bq:\\*:*", "bq:\\*@*:*"]
 */
export function subscriptionPatterns(prefix: string, filters: readonly (string | Identifier)[]): string[] {
  const parsed = filters.map((filter) => (typeof filter === "string" ? parseIdentifier(filter) : filter));
  const base = escapeGlob(prefix);
  if (parsed.some((filter) => filter.name === "*" && filter.action === "*")) return [`${base}*`];
  const patterns = new Set<string>();
  for (const filter of parsed) {
    // A filter without `@ns` passes every namespace (as Link filters do): `job` also listens on `job@*`.
    // A `*` name already matches any `name@ns` in a glob.
    // berrymq's own identifiers (answers to requests) are never namespaced.
    const namespaces =
      filter.namespace !== "" ? [`@${escapeGlob(filter.namespace)}`] : filter.name === WILDCARD || filter.name === REPLY_NAME ? [""] : ["", "@*"];
    for (const name of partPatterns(filter.name)) {
      for (const namespace of namespaces) {
        for (const action of partPatterns(filter.action)) patterns.add(`${base}${name}${namespace}:${action}`);
      }
    }
  }
  return [...patterns];
}

function partPatterns(part: string): string[] {
  return part === "*" ? ["*"] : [escapeGlob(part), "\\*"];
}

/** How a link on a Redis Cluster receives its filters: sharded channels and, for wildcard filters, patterns. */
export interface ShardedPlan {
  /** SSUBSCRIBE channels: one per concrete name and action pair, with the `*` forms senders may use. */
  channels: string[];
  /** PSUBSCRIBE patterns for the filters with a wildcard part (empty when there are none). */
  patterns: string[];
}

/**
 * Splits `filters` for sharded pub/sub (Redis 7 SSUBSCRIBE has no pattern form): a concrete filter
 * `job:stop` listens on the literal channels `job:stop`, `*:stop`, `job:*` and `*:*` (what senders with
 * wildcards publish on); a filter with a wildcard part keeps PSUBSCRIBE patterns. Names whose actions
 * are all known (`replyActions`, e.g. `berrymq-reply` → answer, error) count as concrete.
 * @example shardedPlan("bq:", ["job:stop", "mail:*"]).channels // ["bq:job:stop", "bq:job:*", "bq:*:stop", "bq:*:*"]
 */
export function shardedPlan(prefix: string, filters: readonly (string | Identifier)[], knownActions: Readonly<Record<string, readonly string[]>> = {}): ShardedPlan {
  const channels = new Set<string>();
  const wildcards: Identifier[] = [];
  for (const filter of filters.map((each) => (typeof each === "string" ? parseIdentifier(each) : each))) {
    const actions = filter.action === WILDCARD ? knownActions[filter.name] : [filter.action];
    if (filter.name === WILDCARD || actions === undefined) {
      wildcards.push(filter);
      continue;
    }
    for (const action of actions) {
      for (const name of [filter.name, WILDCARD]) {
        for (const act of [action, WILDCARD]) channels.add(channelOf(prefix, formatIdentifier(name, filter.namespace, act)));
      }
    }
  }
  return { channels: [...channels], patterns: wildcards.length > 0 ? subscriptionPatterns(prefix, wildcards) : [] };
}
