/** One resolved promise, shared: `RESOLVED.then(fn)` runs `fn` in a microtask without a new promise to start from. */
export const RESOLVED: Promise<void> = Promise.resolve();
