/** A bounded set of recently seen ids: the oldest are forgotten first once `capacity` is reached. */
export class RecentIds {
  readonly #ids = new Set<string>();

  constructor(readonly capacity: number) {}

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  /** Records an id; returns false when it was already there. */
  add(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    if (this.#ids.size > this.capacity) {
      // A Set iterates in insertion order: the first value is the oldest.
      this.#ids.delete(this.#ids.values().next().value as string);
    }
    return true;
  }

  get size(): number {
    return this.#ids.size;
  }
}
