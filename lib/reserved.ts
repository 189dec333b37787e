// Identifiers berrymq itself sends through links. Their names start with "berrymq-", which user code
// should not use; followers never see them.

import { parseIdentifier } from "./identifier.js";

/** Name of the answers to `request()`/`ask()` and of error answers (`berrymq-reply:<asking bus id>`). */
export const REPLY_NAME = "berrymq-reply";
/** Answer identifier of a bus whose id cannot be an identifier's action (it holds `:`, `*`, spaces). */
export const ANSWER_ID = `${REPLY_NAME}:answer`;

/**
 * The identifier answers to `busId`'s requests travel under: `berrymq-reply:<busId>`, so pub/sub
 * transports (Redis, the ZeroMQ broker) deliver them to that bus's subscription only.
 */
export function replyIdentifierFor(busId: string): string {
  if (busId === "*" || busId.includes(":")) return ANSWER_ID;
  try {
    return parseIdentifier(`${REPLY_NAME}:${busId}`).action === busId ? `${REPLY_NAME}:${busId}` : ANSWER_ID;
  } catch {
    return ANSWER_ID;
  }
}
/** Name of the control messages links exchange (one hop only, never injected). */
export const LINK_CONTROL_NAME = "berrymq-link";
/** A link tells its far side which buses it links to, so meshes do not re-forward. */
export const NEIGHBOURS_ID = `${LINK_CONTROL_NAME}:neighbours`;
