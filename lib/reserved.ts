// Identifiers berrymq itself sends through links. Their names start with "berrymq-", which user code
// should not use; followers never see them.

/** Name of the answers to `request()`/`ask()` and of error answers. */
export const REPLY_NAME = "berrymq-reply";
/** Identifier of an answer to a `request()` that named no callback identifier. */
export const ANSWER_ID = `${REPLY_NAME}:answer`;
/** Identifier of an error answer: a follower of a request threw or rejected. */
export const ERROR_ID = `${REPLY_NAME}:error`;
/** Name of the control messages links exchange (one hop only, never injected). */
export const LINK_CONTROL_NAME = "berrymq-link";
/** A link tells its far side which buses it links to, so meshes do not re-forward. */
export const NEIGHBOURS_ID = `${LINK_CONTROL_NAME}:neighbours`;
