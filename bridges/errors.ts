import { BerryError, describe, errorText } from "../lib/errors.js";

/** A frame from the wire that is not a valid message envelope; `field` names the offending part. */
export class InvalidEnvelopeError extends BerryError {
  readonly field: string;

  constructor(field: string, value: unknown, expected: string) {
    super("INVALID_ENVELOPE", `invalid envelope: ${field} ${describe(value)}: expected ${expected}`);
    this.field = field;
  }
}

/** A link's outgoing buffer was full (`bufferSize` messages, or `bufferBytes`): the message was not forwarded. */
export class LinkOverflowError extends BerryError {
  readonly dropped: { id: string; messageId: string };

  /** `bound` says which bound was reached (default: `${bufferSize} messages waiting`). */
  constructor(
    link: string,
    bufferSize: number,
    dropped: { id: string; messageId: string },
    bound = `${bufferSize} messages waiting`,
  ) {
    super("LINK_OVERFLOW", `link ${link}: buffer full (${bound}): dropped "${dropped.id}" (${dropped.messageId})`);
    this.dropped = { id: dropped.id, messageId: dropped.messageId };
  }
}

/** The far side of a link could not be reached; the link keeps the messages and retries. */
export class LinkDownError extends BerryError {
  constructor(link: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : describe(cause);
    // A far server that answers 401/403 is up but refuses this link's credentials: a misconfigured secret
    // (a server's `peerSecret` for its links back) is no outage, and read as one it was looked for in vain.
    const status = (cause as { status?: unknown } | null | undefined)?.status;
    const refused = status === 401 || status === 403;
    super(
      "LINK_DOWN",
      refused
        ? `link ${link}: the far side refuses this link's credentials (check its secret: a server's links back send its peerSecret), retrying: ${why}`
        : `link ${link}: far side unreachable, retrying: ${why}`,
      { cause },
    );
  }
}

/** `close()` gave up on messages the far side never took; `undelivered` lists them. */
export class LinkUndeliveredError extends BerryError {
  readonly undelivered: readonly { id: string; messageId: string }[];

  constructor(link: string, undelivered: readonly { id: string; messageId: string }[]) {
    super("LINK_UNDELIVERED", `link ${link}: closed with ${undelivered.length} message(s) not delivered`);
    this.undelivered = undelivered;
  }
}

/** A message held a value the wire cannot carry exactly (NaN, Infinity): it was not sent. */
export class UnsendableMessageError extends BerryError {
  constructor(link: string, dropped: { id: string; messageId: string }, cause: unknown) {
    super("UNSENDABLE", `link ${link}: "${dropped.id}" (${dropped.messageId}) not sent: ${errorText(cause)}`, { cause });
  }
}

/**
 * A connection was not made within its bound (`connectTimeout`): what was opened for it was closed again.
 * `timeout` is the bound in ms; `cause` the last connection error seen, if any.
 */
export class ConnectTimeoutError extends BerryError {
  readonly timeout: number;

  /** `said`: the last error as the transport says it, when it says it better than `cause`'s own text. */
  constructor(who: string, where: string, timeout: number, cause?: unknown, said?: string) {
    const text = said ?? (cause instanceof Error ? cause.message : describe(cause));
    const last = cause === undefined ? "" : `; last error: ${text}`;
    super(
      "CONNECT_TIMEOUT",
      `${who}: could not reach ${where} within ${timeout} ms (the connectTimeout option)${last}`,
      cause === undefined ? undefined : { cause },
    );
    this.timeout = timeout;
  }
}

/**
 * An answer this bus held while it had no link open (see LinkTable), dropped: past the time it holds
 * answers (`reason` "expired"), or past the number it holds (`reason` "overflow"). The asker gets no
 * error answer (no link leads to it): its request waits out its timeout.
 */
export class HeldAnswerDroppedError extends BerryError {
  readonly dropped: { id: string; messageId: string; to: string };
  readonly reason: "expired" | "overflow";

  constructor(
    answer: { readonly id: string; readonly messageId: string; readonly to?: string },
    reason: "expired" | "overflow",
    bound: number,
  ) {
    const why =
      reason === "expired"
        ? `no link to its asker opened within ${bound} ms`
        : `more than ${bound} answers were held at once (the oldest goes)`;
    super(
      "HELD_ANSWER_DROPPED",
      `answer "${answer.id}" (${answer.messageId}) to bus ${answer.to}, held while no link was open, dropped: ${why}`,
    );
    this.dropped = { id: answer.id, messageId: answer.messageId, to: answer.to as string };
    this.reason = reason;
  }
}

/** A link's `up` or `down` listener threw; reported on the link's `error` event, never thrown into its sending. */
export class LinkListenerError extends BerryError {
  readonly event: string;

  constructor(link: string, event: string, cause: unknown) {
    super("LINK_LISTENER_FAILED", `a listener of link ${link}'s '${event}' event threw: ${errorText(cause)}`, { cause });
    this.event = event;
  }
}
