/** A bounded set of recently seen ids: the oldest are forgotten first once `capacity` is reached. */
export class RecentIds {
  readonly #ids = new Set<string>();
  // The ids in arrival order, as a ring once full: the oldest is found by index. (Taking a Set's first
  // value instead costs a scan over its deleted slots, which made every add O(capacity) once full.)
  readonly #order: string[] = [];
  #oldest = 0;

  constructor(readonly capacity: number) {}

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  /** Records an id; returns false when it was already there. */
  add(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    if (this.#order.length < this.capacity) {
      this.#order.push(id);
      return true;
    }
    this.#ids.delete(this.#order[this.#oldest] as string);
    this.#order[this.#oldest] = id;
    this.#oldest = (this.#oldest + 1) % this.capacity;
    return true;
  }

  get size(): number {
    return this.#ids.size;
  }
}
