/**
 * One "abort" listener per AbortSignal, however many waits share it: a listener each made Node warn from
 * the 11th (MaxListenersExceededWarning) and cost time linear in the listeners already there, per wait
 * started and per wait ended (40,000 queue gets sharing one signal took 6 s to start). Callbacks run
 * oldest first; each runs at most once.
 */
const watched = new WeakMap<AbortSignal, Set<() => void>>();

const aborted = (event: Event): void => {
  const signal = event.target as AbortSignal;
  const callbacks = watched.get(signal);
  if (callbacks === undefined) return;
  watched.delete(signal);
  signal.removeEventListener("abort", aborted);
  for (const callback of callbacks) callback();
};

/**
 * Calls `callback` once `signal` aborts (never if it aborted already).
 * @returns a function that stops watching (the signal's listener goes with the last callback).
 */
export function watchAbort(signal: AbortSignal, callback: () => void): () => void {
  let callbacks = watched.get(signal);
  if (callbacks === undefined) {
    callbacks = new Set();
    watched.set(signal, callbacks);
    signal.addEventListener("abort", aborted);
  }
  callbacks.add(callback);
  return () => {
    const current = watched.get(signal);
    if (current === undefined || !current.delete(callback) || current.size > 0) return;
    watched.delete(signal);
    signal.removeEventListener("abort", aborted);
  };
}
