// Ending at once every wait of a client that is being cut off, without keeping the waits that ended first.

/**
 * A one-time cut that ends every race run through it. Racing against one long-lived pending promise
 * instead keeps a reaction on it per race, holding that race's outcome, until it settles: a RedisQueue
 * kept every message its get() took until close() (red team r31).
 */
export class CutOff {
  readonly #racers = new Set<(reason: unknown) => void>();
  #reason: { value: unknown } | undefined;

  /** Settles as `promise` does, or rejects with the cut's reason once `cut()` is called (as Promise.race would if it was). */
  race<T>(promise: PromiseLike<T>): Promise<T> {
    // Already cut: a promise already settled still wins, as against a rejected promise.
    if (this.#reason !== undefined) return Promise.race([promise, Promise.reject(this.#reason.value)]);
    let fail: (reason: unknown) => void = () => {};
    const cut = new Promise<never>((_, reject) => {
      fail = reject;
    });
    this.#racers.add(fail);
    return Promise.race([promise, cut]).finally(() => this.#racers.delete(fail));
  }

  /** Rejects every race on its way, and every later one, with `reason`. */
  cut(reason: unknown): void {
    this.#reason ??= { value: reason };
    for (const fail of this.#racers) fail(reason);
    this.#racers.clear();
  }
}
