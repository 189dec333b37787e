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

/**
 * A signal that aborts, with its reason, when the first of `signals` does, and `release` that stops
 * watching them. In the place of `AbortSignal.any`, which on Node 20 keeps a WeakRef in each source for
 * good: a server's one closing signal, a source of every request's signal, grew by one entry per request.
 */
export function anySignal(signals: readonly AbortSignal[]): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const stops: (() => void)[] = [];
  const release = (): void => {
    for (const stop of stops.splice(0)) stop();
  };
  for (const source of signals) {
    if (source.aborted) {
      release();
      controller.abort(source.reason);
      break;
    }
    stops.push(
      watchAbort(source, () => {
        release();
        controller.abort(source.reason);
      }),
    );
  }
  return { signal: controller.signal, release };
}
