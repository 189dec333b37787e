import { BerryError } from "./errors.js";
import type { Answer } from "./request.js";

/**
 * A follower in some process threw or rejected while answering a request. `remoteName` and the message
 * are the original error's; `bus` is the id of the bus it ran on.
 */
export class RemoteError extends BerryError {
  /** `name` of the error the remote follower threw (e.g. `"TypeError"`). */
  readonly remoteName: string;
  /** Id of the bus whose follower failed. */
  readonly bus: string;
  /** Identifier of the request it failed on. */
  readonly identifier: string;

  constructor(remoteName: string, message: string, bus: string, identifier: string) {
    super("REMOTE_ERROR", `${remoteName} on bus ${bus} answering "${identifier}": ${message}`);
    this.remoteName = remoteName;
    this.bus = bus;
    this.identifier = identifier;
  }
}

/** A request's timeout passed before enough answers came; `answers` holds those that did. */
export class RequestTimeoutError extends BerryError {
  /** Answers received before the timeout. */
  readonly answers: readonly Answer[];

  constructor(identifier: string, timeout: number, wanted: number, answers: readonly Answer[]) {
    super("REQUEST_TIMEOUT", `request "${identifier}" got ${answers.length} of ${wanted} answers within ${timeout} ms`);
    this.answers = answers;
  }
}

/** A request was cancelled through its `AbortSignal`; `answers` holds those received before. */
export class RequestAbortedError extends BerryError {
  /** Answers received before the abort. */
  readonly answers: readonly Answer[];

  constructor(identifier: string, answers: readonly Answer[], reason: unknown) {
    super("REQUEST_ABORTED", `request "${identifier}" was aborted after ${answers.length} answers`, { cause: reason });
    this.answers = answers;
  }
}

/**
 * Every link a request could have gone out on closed (or lost its far side: see LinkLostError, then the
 * `cause`) before enough answers came, and no follower in this process could still answer it: it can get
 * no further answer, so it ends now rather than at its timeout. `answers` holds those received before.
 */
export class RequestLinkClosedError extends BerryError {
  /** Answers received before the links closed. */
  readonly answers: readonly Answer[];

  /** `lost`: the link did not close but lost its far side (a LinkLostError, then the error's `cause`). */
  constructor(identifier: string, link: string, answers: readonly Answer[], lost?: Error) {
    super(
      "REQUEST_LINK_CLOSED",
      `request "${identifier}" got ${answers.length} answers: no answer can come since link ${link} ${lost === undefined ? "closed" : "lost its far side"}`,
      lost === undefined ? undefined : { cause: lost },
    );
    this.answers = answers;
  }
}

/** More requests were waiting for answers than the bus allows (`maxPendingRequests`). */
export class RequestOverflowError extends BerryError {
  /** The bound reached (the bus's `maxPendingRequests`). */
  readonly limit: number;

  constructor(identifier: string, limit: number) {
    super("REQUEST_OVERFLOW", `request "${identifier}" refused: ${limit} requests are already waiting for answers (maxPendingRequests)`);
    this.limit = limit;
  }
}

/**
 * An answer came while requests still waiting held `maxHeldAnswers` answers between them: the request it
 * answers ends at once rather than hold more. `answers` holds those it received before.
 */
export class AnswerOverflowError extends BerryError {
  /** Answers received before the bound was reached. */
  readonly answers: readonly Answer[];

  constructor(identifier: string, limit: number, answers: readonly Answer[]) {
    super(
      "ANSWER_OVERFLOW",
      `request "${identifier}" ended after ${answers.length} answers: requests waiting here already hold ${limit} answers (maxHeldAnswers)`,
    );
    this.answers = answers;
  }
}
