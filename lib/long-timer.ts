import { InvalidArgumentError } from "./errors.js";

/** Longest delay Node's `setTimeout` takes; a longer one overflows and fires at once. */
export const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** A timer started by {@link setLongTimeout}. */
export interface LongTimer {
  /** Stops the timer; does nothing once it fired. */
  clear(): void;
  /** Lets the process exit while only this timer is pending (as `Timeout.unref()`). */
  unref(): LongTimer;
}

/**
 * `setTimeout` for a user's duration: `Infinity` never fires, a delay above 2³¹−1 ms is waited out in
 * steps instead of overflowing (Node fires those at once), and a negative or `NaN` delay is refused.
 * @example const timer = setLongTimeout(() => console.log("a month later"), 30 * 86_400_000); timer.clear();
 */
export function setLongTimeout(callback: () => void, delay: number): LongTimer {
  checkDuration("delay", delay);
  let timeout: NodeJS.Timeout | undefined;
  let unref = false;
  const deadline = performance.now() + delay;
  const arm = (remaining: number): void => {
    if (remaining === Number.POSITIVE_INFINITY) return;
    timeout = setTimeout(() => {
      const left = deadline - performance.now();
      if (left > 1) arm(left);
      else {
        timeout = undefined;
        callback();
      }
    }, Math.ceil(Math.min(Math.max(remaining, 0), MAX_TIMER_DELAY))); // whole ms: see RequestTable's #arm
    if (unref) timeout.unref();
  };
  arm(delay);
  const timer: LongTimer = {
    clear() {
      if (timeout !== undefined) clearTimeout(timeout);
      timeout = undefined;
    },
    unref() {
      unref = true;
      timeout?.unref();
      return timer;
    },
  };
  return timer;
}

/**
 * Checks a user's duration in ms: a number ≥ 0, `Infinity` allowed (meaning "never").
 * @throws InvalidArgumentError naming `name` and the value (NaN and Infinity shown as such).
 */
export function checkDuration(name: string, value: unknown): number {
  if (typeof value !== "number" || Number.isNaN(value) || value < 0) {
    throw new InvalidArgumentError(name, value, "a duration in ms (a number >= 0, or Infinity)");
  }
  return value;
}

/**
 * Checks a user's interval or timeout in ms that runs on Node's own timers: an integer from `min` to
 * 2³¹−1. A larger one would overflow and fire every millisecond (a ping, beat or retry storm).
 * @throws InvalidArgumentError naming `name` and the value.
 */
export function checkTimerDelay(name: string, value: unknown, min = 1): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > MAX_TIMER_DELAY)
    throw new InvalidArgumentError(name, value, `an integer number of ms from ${min} to ${MAX_TIMER_DELAY} (Node's timers overflow above it)`);
  return value;
}
