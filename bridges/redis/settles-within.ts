import { type LongTimer, setLongTimeout } from "../../lib/long-timer.js";

/**
 * Whether `promise` settles (resolves or rejects) within `ms` ms; the timer is cleared either way. A long
 * timer: the bounds built on a user's closeTimeout may pass 2³¹−1 ms, which setTimeout fires at once.
 */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: LongTimer | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setLongTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(
      () => true,
      () => true,
    ), late]);
  } finally {
    timer?.clear();
  }
}
