import { createHash } from "node:crypto";

// Password guessing is bounded by how often a source may be told "no": unthrottled, one client tried
// ~830 PLAIN passwords a second by handshakes, and as many by login frames over one connection.

/** Refusals from one source that are checked at once; each further one waits first. */
export const FREE_LOGIN_REFUSALS = 3;

/** Longest wait between two checked attempts of one source, in ms (or the delay itself, when longer). */
export const MAX_LOGIN_RETRY_DELAY = 60_000;

/** Sources remembered at once; the one refused longest ago is forgotten first. */
export const MAX_THROTTLED_SOURCES = 10_000;

/** How long credentials a handshake accepted may log in on a connection while their account waits, in ms. */
export const VERIFIED_FOR = 60_000;

interface Source {
  refusals: number;
  /** Attempts before this time (ms since the epoch) are refused without being checked. */
  until: number;
}

/**
 * Refused logins per source (an address and user name; an account, for login frames): after `FREE_LOGIN_REFUSALS` in a row,
 * the source waits `delay` ms before its next attempt is checked, doubling with each refusal up to 60 s (or `delay`, if longer).
 * A success clears the source. Attempts during the wait are refused unchecked and do not lengthen it.
 */
export class LoginThrottle {
  readonly #sources = new Map<string, Source>();
  // Digests of PLAIN credentials a handshake accepted, and until when: their login frame is no guess.
  readonly #verified = new Map<string, number>();
  readonly #delay: number;
  readonly #longest: number;

  /** `delay` 0 turns the throttle off. */
  constructor(delay: number) {
    this.#delay = delay;
    this.#longest = Math.max(MAX_LOGIN_RETRY_DELAY, delay);
  }

  /** Whether an attempt of `source` must be refused unchecked now. */
  waiting(source: string, now = Date.now()): boolean {
    const entry = this.#sources.get(source);
    return entry !== undefined && now < entry.until;
  }

  /** The attempt was checked and refused. */
  refused(source: string, now = Date.now()): void {
    if (this.#delay === 0) return;
    const entry = this.#sources.get(source) ?? { refusals: 0, until: 0 };
    entry.refusals++;
    const over = entry.refusals - FREE_LOGIN_REFUSALS;
    if (over > 0) entry.until = now + Math.min(this.#longest, this.#delay * 2 ** Math.min(over - 1, 30));
    // Re-inserted, so that the Map's order is by last refusal and the oldest goes first.
    this.#sources.delete(source);
    this.#sources.set(source, entry);
    if (this.#sources.size > MAX_THROTTLED_SOURCES) {
      const oldest = this.#sources.keys().next().value;
      if (oldest !== undefined) this.#sources.delete(oldest);
    }
  }

  /** The attempt was checked and accepted. */
  accepted(source: string): void {
    this.#sources.delete(source);
  }

  /** A handshake accepted these credentials: their login frame is checked even while their account waits. */
  verified(username: string, password: string, now = Date.now()): void {
    const proof = digest(username, password);
    this.#verified.delete(proof);
    this.#verified.set(proof, now + VERIFIED_FOR);
    if (this.#verified.size > MAX_THROTTLED_SOURCES) {
      const oldest = this.#verified.keys().next().value;
      if (oldest !== undefined) this.#verified.delete(oldest);
    }
  }

  /** Whether a handshake accepted these credentials within VERIFIED_FOR. */
  wasVerified(username: string, password: string, now = Date.now()): boolean {
    const until = this.#verified.get(digest(username, password));
    return until !== undefined && now < until;
  }

  /** Sources remembered (for tests and stats). */
  get size(): number {
    return this.#sources.size;
  }
}

// Credentials are kept only as a digest: the throttle never holds a password.
function digest(username: string, password: string): string {
  return createHash("sha256").update(username).update("\0").update(password).digest("base64");
}
