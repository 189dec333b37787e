/** The bytes held by every `HeldFrames` of one kind together, and their bound. */
export interface HeldPool {
  bytes: number;
  readonly max: number;
}

/**
 * What is held for one suspended RPC login, one way (see rpc-server.ts, Session), or for one client whose
 * connection takes no more (its backlog): in order, bounded in count and bytes alone, and in bytes together
 * with every other of the same `pool`.
 */
export class HeldFrames<T> {
  readonly #items: { item: T; bytes: number }[] = [];
  #bytes = 0;

  constructor(
    readonly pool: HeldPool,
    readonly maxItems: number,
    readonly maxBytes: number,
  ) {}

  /** Items held. */
  get length(): number {
    return this.#items.length;
  }

  /** Holds `item` of `bytes`; false (nothing held) past a bound, unless `first` and nothing is held yet. */
  hold(item: T, bytes: number, first = false): boolean {
    const fits = this.#items.length < this.maxItems && this.#bytes + bytes <= this.maxBytes && this.pool.bytes + bytes <= this.pool.max;
    if (!fits && !(first && this.#items.length === 0)) return false;
    this.#items.push({ item, bytes });
    this.#bytes += bytes;
    this.pool.bytes += bytes;
    return true;
  }

  /** Bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The oldest item held, or undefined. */
  first(): T | undefined {
    return this.#items[0]?.item;
  }

  /** Takes the oldest item out, giving its bytes back to the pool. */
  shift(): T | undefined {
    const oldest = this.#items.shift();
    if (oldest === undefined) return undefined;
    this.#bytes -= oldest.bytes;
    this.pool.bytes -= oldest.bytes;
    return oldest.item;
  }

  /** Empties it, giving its bytes back to the pool: what it held, in order. */
  take(): T[] {
    const items = this.#items.splice(0);
    this.pool.bytes -= this.#bytes;
    this.#bytes = 0;
    return items.map(({ item }) => item);
  }
}
