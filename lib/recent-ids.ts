// What SequenceWindow.test says of a number.
const NOT_SEEN = 0;
const SEEN = 1;
const ABOVE = 2; // past the window (or the window is empty): not seen
const BELOW = 3; // older than the window: a number moved out of it, or never in it, is in the Set
const WORD = 32;

// Origins given a window of their own; ids of further origins go to the Set.
const MAX_WINDOWS = 64;
// Ids of a window's origin are numbers of up to this many digits (exact as doubles).
const MAX_DIGITS = 15;
const SLASH = 0x2f;
const ZERO = 0x30;
// Ring entries per chunk (see RecentIds' #order): 4,096, a chunk of 32 KiB.
const ORDER_CHUNK_BITS = 12;
const ORDER_CHUNK_MASK = (1 << ORDER_CHUNK_BITS) - 1;

/**
 * A bounded set of recently seen ids: exactly the last `capacity` ids added are remembered; the oldest
 * are forgotten first.
 *
 * An id of the form `<origin>/<n>` (what a bus names its messages: its id, a slash, a sequence number
 * without leading zeros) is kept as one bit in a window of its origin's numbers; other ids in a Set.
 * A look-up in a Set of 100,000 fresh strings missed the CPU caches (~0.3–0.5 µs); a bit in a window
 * of a few KiB does not. The windows change only the cost: what is remembered is the same.
 */
export class RecentIds {
  readonly #ids = new Set<string>();
  readonly #windows = new Map<string, SequenceWindow>();
  #lastWindow: SequenceWindow | undefined;
  // The ids in arrival order, as a ring once full: the oldest is found by index. An entry is the id
  // (kept in the Set) or the window holding its number (in #numbers at the same index). Kept in chunks
  // of 4,096 entries made as the ring fills: one array grown by push to 100,000 entries was copied again
  // and again as it grew, and an add cost about twice as much until the ring was full (284 against 151
  // ns, medians of 9 alternated runs): the first 100,000 messages a bus receives, a whole bench row.
  readonly #order: (string | SequenceWindow)[][] = [];
  #filled = 0;
  readonly #numbers: Float64Array;
  #oldest = 0;
  #size = 0;
  // The last id `#numberOf` read, its number and where its slash is (`has` then `add` read the same id).
  #parsed: string | undefined;
  #number = -1;
  #slash = -1;
  // Moves an id whose number left its window (the origin's numbers jumped ahead) into the Set.
  readonly #moveOut = (window: SequenceWindow, n: number): void => {
    this.#ids.add(`${window.origin}/${n}`);
  };

  constructor(readonly capacity: number) {
    this.#numbers = new Float64Array(capacity);
  }

  has(id: string): boolean {
    const n = this.#numberOf(id);
    if (n >= 0) {
      const window = this.#windowOf(id, false);
      if (window !== undefined) {
        const seen = window.test(n);
        if (seen !== BELOW) return seen === SEEN;
      }
    }
    return this.#ids.size > 0 && this.#ids.has(id);
  }

  /** Records an id; returns false when it was already there. */
  add(id: string): boolean {
    const n = this.#numberOf(id);
    const window = n >= 0 ? this.#windowOf(id, true) : undefined;
    if (window !== undefined) {
      const seen = window.test(n);
      if (seen === SEEN) return false;
      if (seen !== BELOW) {
        this.#makeRoom();
        window.set(n, this.#moveOut);
        this.#record(window, n);
        return true;
      }
    }
    if (this.#ids.has(id)) return false;
    this.#makeRoom();
    this.#ids.add(id);
    this.#record(id, 0);
    return true;
  }

  get size(): number {
    return this.#size;
  }

  #record(entry: string | SequenceWindow, n: number): void {
    this.#size++;
    if (this.#filled < this.capacity) {
      this.#numbers[this.#filled] = n;
      this.#put(this.#filled++, entry);
      return;
    }
    this.#put(this.#oldest, entry);
    this.#numbers[this.#oldest] = n;
    this.#oldest = (this.#oldest + 1) % this.capacity;
  }

  // Writes ring slot `at`; while the ring fills, slots come in order, each chunk's first one making it.
  #put(at: number, entry: string | SequenceWindow): void {
    const chunk = this.#order[at >>> ORDER_CHUNK_BITS];
    if (chunk === undefined) this.#order.push([entry]);
    else chunk[at & ORDER_CHUNK_MASK] = entry;
  }

  // Forgets the oldest id when full (its ring slot is then reused by #record).
  #makeRoom(): void {
    if (this.#size < this.capacity) return;
    this.#size--;
    const oldest = (this.#order[this.#oldest >>> ORDER_CHUNK_BITS] as (string | SequenceWindow)[])[
      this.#oldest & ORDER_CHUNK_MASK
    ] as string | SequenceWindow;
    if (typeof oldest === "string") {
      this.#ids.delete(oldest);
      return;
    }
    const n = this.#numbers[this.#oldest] as number;
    if (!oldest.clear(n)) this.#ids.delete(`${oldest.origin}/${n}`); // it had been moved out
  }

  // The sequence number of an id `<origin>/<n>`, or -1 for any other id.
  #numberOf(id: string): number {
    if (id === this.#parsed) return this.#number;
    this.#parsed = id;
    this.#number = -1;
    let slash = id.length - 1;
    while (slash >= 0 && id.charCodeAt(slash) !== SLASH) slash--; // measured faster than lastIndexOf
    const digits = id.length - slash - 1;
    if (slash <= 0 || digits === 0 || digits > MAX_DIGITS) return -1;
    if (digits > 1 && id.charCodeAt(slash + 1) === ZERO) return -1; // not how a number is written
    let n = 0;
    for (let i = slash + 1; i < id.length; i++) {
      const digit = id.charCodeAt(i) - ZERO;
      if (digit < 0 || digit > 9) return -1;
      n = n * 10 + digit;
    }
    this.#slash = slash;
    this.#number = n;
    return n;
  }

  // The window of the origin of the id `#numberOf` just read; `create`: open one if there is room.
  #windowOf(id: string, create: boolean): SequenceWindow | undefined {
    const slash = this.#slash;
    const last = this.#lastWindow;
    const origin = id.slice(0, slash); // compared by ===: measured twice as fast as startsWith
    if (last !== undefined && last.origin === origin) return last;
    let window = this.#windows.get(origin);
    if (window === undefined) {
      if (!create || this.#windows.size >= MAX_WINDOWS) return undefined;
      window = new SequenceWindow(origin, this.capacity);
      this.#windows.set(origin, window);
    }
    this.#lastWindow = window;
    return window;
  }
}

/**
 * The numbers seen of one origin, as bits: a window over `[base, base + span)` that moves up as newer
 * numbers come. `span` is at least the capacity plus a word, so with consecutive numbers an id is
 * forgotten (by the ring) before the window leaves it; a number left behind by a jump is moved out.
 * Numbers reach 2^53: only offsets from `base` (under `span`) go through integer operations.
 */
class SequenceWindow {
  readonly #words: Int32Array;
  readonly #mask: number;
  readonly #span: number;
  // First number covered, a multiple of WORD; -1 while empty. `#baseAt`: the index of its word.
  #base = -1;
  #baseAt = 0;

  constructor(
    readonly origin: string,
    capacity: number,
  ) {
    let words = 1;
    while (words < Math.ceil(capacity / WORD) + 1) words *= 2;
    this.#words = new Int32Array(words);
    this.#mask = words - 1;
    this.#span = words * WORD;
  }

  test(n: number): number {
    const offset = n - this.#base;
    if (this.#base < 0 || offset >= this.#span) return ABOVE;
    if (offset < 0) return BELOW;
    return ((this.#words[(this.#baseAt + (offset >>> 5)) & this.#mask] as number) >>> (offset & 31)) & 1 ? SEEN : NOT_SEEN;
  }

  /** Sets the bit of `n`, which is not below the window; numbers the window leaves go to `moveOut`. */
  set(n: number, moveOut: (window: SequenceWindow, n: number) => void): void {
    if (this.#base < 0 || n - this.#base >= this.#span) this.#slide(n, moveOut);
    const offset = n - this.#base;
    const at = (this.#baseAt + (offset >>> 5)) & this.#mask;
    this.#words[at] = (this.#words[at] as number) | (1 << (offset & 31));
  }

  /** Clears the bit of `n`; false when `n` is below the window (it was moved out). */
  clear(n: number): boolean {
    const offset = n - this.#base;
    if (offset < 0) return false;
    const at = (this.#baseAt + (offset >>> 5)) & this.#mask;
    this.#words[at] = (this.#words[at] as number) & ~(1 << (offset & 31));
    return true;
  }

  // Moves the window up so that `n` is in its top word.
  #slide(n: number, moveOut: (window: SequenceWindow, n: number) => void): void {
    const base = Math.max(0, (Math.floor(n / WORD) + 1) * WORD - this.#span);
    if (this.#base >= 0) {
      const leaving = Math.min(base - this.#base, this.#span) / WORD;
      for (let k = 0; k < leaving; k++) {
        const at = (this.#baseAt + k) & this.#mask;
        const bits = this.#words[at] as number;
        if (bits === 0) continue;
        for (let bit = 0; bit < WORD; bit++) if ((bits >>> bit) & 1) moveOut(this, this.#base + k * WORD + bit);
        this.#words[at] = 0;
      }
    }
    this.#base = base;
    this.#baseAt = (base / WORD) % this.#words.length;
  }
}
