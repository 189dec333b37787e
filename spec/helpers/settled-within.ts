// What a promise settled with (its value, or its error as a value), for specs that compare outcomes.

/** The value `promise` resolved with, or the error it rejected with. */
export function outcome(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => value,
    (error: unknown) => error,
  );
}

/** What `promise` settled with within `ms` (see `outcome`), or the string "still waiting". */
export function settled(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const waiting = new Promise((resolve) => {
    timer = setTimeout(() => resolve("still waiting"), ms);
  });
  return Promise.race([outcome(promise), waiting]).finally(() => clearTimeout(timer));
}
