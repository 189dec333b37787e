// What the broker does with one acknowledged message: how long it holds it, and what happens when no
// subscriber matches at send time. Travels per message in the PUBLISH head (see broker-protocol.ts).
import { checkDuration } from "../../lib/long-timer.js";
import { InvalidArgumentError } from "../../lib/errors.js";

/** When no subscriber matches an acknowledged message at send time: hold it (until expiry) or refuse it at once. */
export type NoSubscriberPolicy = "hold" | "refuse";

/** The delivery policy of an acknowledged message; what is left out takes the broker's default. */
export interface DeliveryPolicy {
  /** Ms the broker holds it unacknowledged before it becomes a dead letter (`Infinity`: never). */
  expiry?: number;
  /** What happens when no subscriber matches at send time (default `"hold"`). */
  noSubscriber?: NoSubscriberPolicy;
}

/** The PUBLISH head entry of a message: 0 (no acknowledgement), 1 (acknowledged, broker defaults) or a policy. */
export type HeadPolicy = 0 | 1 | { e?: number | null; u?: NoSubscriberPolicy };

/** Checks a user's policy. @throws InvalidArgumentError naming the bad field. */
export function checkPolicy(name: string, policy: DeliveryPolicy): DeliveryPolicy {
  if (policy.expiry !== undefined) checkDuration(`${name}.expiry`, policy.expiry);
  if (policy.noSubscriber !== undefined && policy.noSubscriber !== "hold" && policy.noSubscriber !== "refuse") {
    throw new InvalidArgumentError(`${name}.noSubscriber`, policy.noSubscriber, '"hold" or "refuse"');
  }
  return policy;
}

/** The head entry for an acknowledged message with `policy` (1 when it only takes defaults). */
export function headPolicy(policy: DeliveryPolicy): HeadPolicy {
  if (policy.expiry === undefined && policy.noSubscriber === undefined) return 1;
  const entry: { e?: number | null; u?: NoSubscriberPolicy } = {};
  // JSON has no Infinity: null means "never expires".
  if (policy.expiry !== undefined) entry.e = policy.expiry === Number.POSITIVE_INFINITY ? null : policy.expiry;
  if (policy.noSubscriber !== undefined) entry.u = policy.noSubscriber;
  return entry;
}

/**
 * Reads a head entry from the wire.
 * @returns undefined for "no acknowledgement", the policy otherwise.
 * @throws Error saying what is wrong.
 */
export function readHeadPolicy(entry: unknown): DeliveryPolicy | undefined {
  if (entry === 0) return undefined;
  if (entry === 1) return {};
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) throw new Error("not 0, 1 or a policy object");
  const { e, u, ...rest } = entry as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw new Error(`unknown policy field(s) ${Object.keys(rest).join(", ")}`);
  const policy: DeliveryPolicy = {};
  if (e === null) policy.expiry = Number.POSITIVE_INFINITY;
  else if (e !== undefined) {
    if (typeof e !== "number" || !Number.isFinite(e) || e < 0) throw new Error("expiry is not a duration in ms");
    policy.expiry = e;
  }
  if (u !== undefined) {
    if (u !== "hold" && u !== "refuse") throw new Error('noSubscriber is not "hold" or "refuse"');
    policy.noSubscriber = u;
  }
  return policy;
}
