import { RESOLVED } from "./resolved.js";

// Date.now() costs ~50 ns on some virtual machines, more than the rest of a dispatch; messages only need
// millisecond timestamps. The clock is read afresh on each new tick and every 128 reads within one.
const READS_PER_REFRESH = 128;
let cached = 0;
let freshThisTick = false;
let reads = 0;

const markStale = (): void => {
  freshThisTick = false;
};

/** Milliseconds since the epoch, as `Date.now()`, give or take the time of 128 calls in one tick. */
export function coarseNow(): number {
  if (freshThisTick && ++reads < READS_PER_REFRESH) return cached;
  cached = Date.now();
  reads = 0;
  if (!freshThisTick) {
    freshThisTick = true;
    // A resolved promise's then, not queueMicrotask (which builds an AsyncResource and a bound function:
    // ~270 against ~55 ns, about twice per process per request/response round trip).
    void RESOLVED.then(markStale);
  }
  return cached;
}
