/** Errors caused by peers reported per second at most, by the broker and the RPC server alike. */
export const REPORTS_PER_SECOND = 10;

/**
 * A one-second window counting reports: a peer sending junk as fast as it can must not become as many
 * `error` events (or, with no listener, process warnings; or CLI lines on a pipe whose slow reader blocks
 * the process). Runs on the monotonic clock.
 */
export class ReportRate {
  #window = Number.NEGATIVE_INFINITY;
  #inWindow = 0;

  /** Whether one more report may go now (counted if so); false past REPORTS_PER_SECOND this second. */
  allow(now = performance.now()): boolean {
    if (now - this.#window >= 1_000) {
      this.#window = now;
      this.#inWindow = 0;
    }
    if (this.#inWindow >= REPORTS_PER_SECOND) return false;
    this.#inWindow++;
    return true;
  }
}
