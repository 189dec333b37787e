import { InvalidArgumentError } from "./errors.js";

// What SequenceWindow.test says of a number, besides the ring slot (+ 1) of the id holding it.
const NOT_SEEN = 0;
const ABOVE = -1; // past the window (or the window is empty): not seen
const BELOW = -2; // older than the window: a number moved out of it, or never in it, is in the Set
const WORD = 32;

// Origins given a window of their own; ids of further origins go to the Set, until a window none of
// whose numbers is held any more is taken over (see #windowOf). A window costs 4 bytes a
// number it covers (plus a bit), and covers the capacity plus a word rounded up to a power of two: all
// of them together are kept under WINDOW_BYTES, but one is always given, however large. Past a capacity
// of 524,256 that one alone is over it (4.1 MiB at 1,000,000, 66 MiB at 10,000,000): still 4-9 bytes an
// id, where a Set kept ~117 (the id's string). The ring (#numbers, #suffixes) is 16 bytes an id.
const MAX_WINDOWS = 64;
const WINDOW_BYTES = 4 * 1024 * 1024;
// Ids of a window's origin are numbers of up to this many digits (exact as doubles).
const MAX_DIGITS = 15;
// A bus's messageIds end with this many random base64url characters (lib/unguessable-suffix.ts).
const SUFFIX_LENGTH = 8;
const SLASH = 0x2f;
const ZERO = 0x30;
// Ring entries per chunk (see RecentIds' #order): 4,096, a chunk of 32 KiB.
const ORDER_CHUNK_BITS = 12;
const ORDER_CHUNK_MASK = (1 << ORDER_CHUNK_BITS) - 1;
// #numbers of an id kept in the Set: 0, or CONFLICT for a window-form id whose number's slot another
// id of the same number held (a forged id), or far ahead of a window holding more than FAR_HELD numbers
// (counted so that has() looks in the Set only while any is kept).
const CONFLICT = 1;
// An id that would slide its window by a quarter of its span or more goes to the Set while the window
// holds more than this many numbers: sliding would move them all out at once. One id forged far ahead
// of a bus's 100,000 numbers made their 100,000 strings in one add (66 ms, load 7).
const FAR_HELD = 64;
// A window keeps ring slots + 1 as 32-bit integers: 2^31 - 1 at most. Past it a slot would read back
// negative, as "above" or "below the window" (a Bus with dedupeWindow 2^31 was built: 36 GiB of typed arrays).
const MAX_CAPACITY = 2 ** 31 - 2;
/** The largest capacity a RecentIds (a bus's `dedupeWindow`) takes. */
export const MAX_RECENT_IDS = MAX_CAPACITY;
// Adds between two searches for a window none of whose numbers is held, for an origin without one.
const RECLAIM_EVERY = 1_024;

/**
 * A bounded set of recently seen ids: exactly the last `capacity` ids added are remembered; the oldest
 * are forgotten first.
 *
 * An id of the form `<origin>/<n>` or `<origin>/<n><8 base64url characters>` (what a bus names its
 * messages: its id, a slash, a sequence number without leading zeros, a random suffix) is kept in a
 * window of its origin's numbers: a bit, and the ring slot of the id, whose suffix is compared. Other ids
 * go to a Set. A look-up in a Set of 100,000 fresh strings missed the CPU caches (~0.3–0.5 µs), and the
 * strings it keeps were promoted and then collected by the old generation; a window does neither. The
 * windows change only the cost: what is remembered is the same. Two ids of one number (an id forged
 * with another suffix) are both remembered: the second goes to the Set.
 */
export class RecentIds {
  readonly #ids = new Set<string>();
  readonly #windows = new Map<string, SequenceWindow>();
  readonly #maxWindows: number;
  #lastWindow: SequenceWindow | undefined;
  // The ids in arrival order, as a ring once full: the oldest is found by index. An entry is the id
  // (kept in the Set) or the window holding its number (in #numbers at the same index, its suffix in
  // #suffixes). Kept in chunks of 4,096 entries made as the ring fills: one array grown by push to
  // 100,000 entries was copied again and again as it grew, and an add cost about twice as much until
  // the ring was full (284 against 151 ns, medians of 9 alternated runs).
  readonly #order: (string | SequenceWindow)[][] = [];
  #filled = 0;
  readonly #numbers: Float64Array;
  // The suffix of a window entry: 0 for none, else 1 + its 48 bits.
  readonly #suffixes: Float64Array;
  #oldest = 0;
  #size = 0;
  // Ids recorded so far, and when an origin without a window may next look for one to take over.
  #added = 0;
  #nextReclaim = 0;
  // Ids of a window's form kept in the Set while their number's slot held another id (see CONFLICT).
  #conflicts = 0;
  // The last id `#numberOf` read: its number, suffix and where its slash is (`has` then `add` read it).
  #parsed: string | undefined;
  #number = -1;
  #suffix = 0;
  #slash = -1;
  // Moves the id of ring slot `at` out of its window (the origin's numbers jumped ahead) into the Set.
  readonly #moveOut = (window: SequenceWindow, n: number, at: number): void => {
    const id = `${window.origin}/${n}${suffixText(this.#suffixes[at] as number)}`;
    this.#ids.add(id);
    this.#put(at, id);
    this.#numbers[at] = 0;
  };

  /** @throws InvalidArgumentError unless `capacity` is an integer from 1 to 2^31 - 2. */
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_CAPACITY) {
      throw new InvalidArgumentError("capacity", capacity, `an integer from 1 to ${MAX_CAPACITY}`);
    }
    this.#numbers = new Float64Array(capacity);
    this.#suffixes = new Float64Array(capacity);
    this.#maxWindows = Math.max(1, Math.min(MAX_WINDOWS, Math.floor(WINDOW_BYTES / SequenceWindow.bytesFor(capacity))));
  }

  has(id: string): boolean {
    const n = this.#numberOf(id);
    if (n >= 0) {
      const window = this.#windowOf(id, false);
      if (window !== undefined) {
        const seen = window.test(n);
        if (seen > 0 && this.#suffixes[seen - 1] === this.#suffix) return true;
        if (seen !== BELOW) return this.#mayBeInSet(window) && this.#ids.has(id);
      }
    }
    return this.#ids.size > 0 && this.#ids.has(id);
  }

  /** Records an id; returns false when it was already there. */
  add(id: string): boolean {
    const n = this.#numberOf(id);
    const window = n >= 0 ? this.#windowOf(id, true) : undefined;
    if (window !== undefined) {
      let seen = window.test(n);
      if (seen === BELOW && window.held === 0) {
        // None of the window's numbers is held (a forged id far ahead moved it there, and is forgotten):
        // it starts again here rather than send this origin's ids to the Set for good.
        window.restart(window.origin, this.#startedAt());
        seen = ABOVE;
      }
      if (seen !== BELOW) {
        if (seen > 0 && this.#suffixes[seen - 1] === this.#suffix) return false;
        if (this.#mayBeInSet(window) && this.#ids.has(id)) return false;
        const suffix = this.#suffix;
        this.#makeRoom();
        // Evicting the oldest may have emptied this number's slot.
        const now = window.test(n);
        if (now === NOT_SEEN || (now === ABOVE && (window.held <= FAR_HELD || !window.isFarAhead(n)))) {
          const at = this.#record(window, n);
          this.#suffixes[at] = suffix;
          window.set(n, at, this.#moveOut);
          return true;
        }
        this.#ids.add(id);
        this.#conflicts++;
        this.#numbers[this.#record(id, 0)] = CONFLICT;
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

  // Whether an id of `window`'s form and origin, not below it, may be in the Set: a forged one (CONFLICT),
  // or one added before the window (re)started there, until `capacity` ids later have forgotten it.
  #mayBeInSet(window: SequenceWindow): boolean {
    return this.#conflicts > 0 || this.#added - window.startedAt < this.capacity;
  }

  // What a window (re)started now is given as `startedAt`: when the Set holds no id, none of its ids
  // can be there, and it needs no look-up in it.
  #startedAt(): number {
    return this.#ids.size > 0 ? this.#added : Number.NEGATIVE_INFINITY;
  }

  // Takes a ring slot for `entry`; returns its index.
  #record(entry: string | SequenceWindow, n: number): number {
    this.#size++;
    this.#added++;
    let at: number;
    if (this.#filled < this.capacity) at = this.#filled++;
    else {
      at = this.#oldest;
      this.#oldest = (this.#oldest + 1) % this.capacity;
    }
    this.#numbers[at] = n;
    this.#put(at, entry);
    return at;
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
    const at = this.#oldest;
    const oldest = (this.#order[at >>> ORDER_CHUNK_BITS] as (string | SequenceWindow)[])[at & ORDER_CHUNK_MASK] as
      | string
      | SequenceWindow;
    if (typeof oldest === "string") {
      this.#ids.delete(oldest);
      if (this.#numbers[at] === CONFLICT) this.#conflicts--;
      return;
    }
    oldest.clear(this.#numbers[at] as number);
  }

  // The sequence number of an id `<origin>/<n>` or `<origin>/<n><suffix>` (its suffix in #suffix), or -1
  // for any other id. Digits alone are a number when they can be (so each id reads one way only).
  #numberOf(id: string): number {
    if (id === this.#parsed) return this.#number;
    this.#parsed = id;
    this.#number = -1;
    let slash = id.length - 1;
    while (slash >= 0 && id.charCodeAt(slash) !== SLASH) slash--; // measured faster than lastIndexOf
    if (slash <= 0) return -1;
    let end = id.length;
    let n = digitsAt(id, slash + 1, end);
    let suffix = 0;
    if (n < 0) {
      end -= SUFFIX_LENGTH;
      if (end <= slash + 1) return -1;
      suffix = suffixValue(id, end);
      if (suffix < 0) return -1;
      n = digitsAt(id, slash + 1, end);
      if (n < 0) return -1;
      suffix += 1;
    }
    this.#slash = slash;
    this.#number = n;
    this.#suffix = suffix;
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
      if (!create) return undefined;
      if (this.#windows.size < this.#maxWindows) window = new SequenceWindow(origin, this.capacity, this.#startedAt());
      else {
        // All taken: an origin none of whose numbers a window holds (a bus gone, restarted under a new id)
        // gives its window up. Looked for once in RECLAIM_EVERY adds; meanwhile this origin's ids go to the Set.
        if (this.#added < this.#nextReclaim) return undefined;
        this.#nextReclaim = this.#added + RECLAIM_EVERY;
        for (const idle of this.#windows.values()) {
          if (idle.held === 0) {
            window = idle;
            break;
          }
        }
        if (window === undefined) return undefined;
        this.#windows.delete(window.origin);
        window.restart(origin, this.#startedAt());
      }
      this.#windows.set(origin, window);
    }
    this.#lastWindow = window;
    return window;
  }
}

// The number written by id[start, end) in decimal without leading zeros, of 1 to MAX_DIGITS digits; else -1.
function digitsAt(id: string, start: number, end: number): number {
  const digits = end - start;
  if (digits === 0 || digits > MAX_DIGITS) return -1;
  if (digits > 1 && id.charCodeAt(start) === ZERO) return -1; // not how a number is written
  let n = 0;
  for (let i = start; i < end; i++) {
    const digit = id.charCodeAt(i) - ZERO;
    if (digit < 0 || digit > 9) return -1;
    n = n * 10 + digit;
  }
  return n;
}

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const BASE64URL_VALUE = new Int8Array(128).fill(-1);
const BASE64URL_CODE = new Uint8Array(64);
for (let i = 0; i < BASE64URL.length; i++) {
  BASE64URL_VALUE[BASE64URL.charCodeAt(i)] = i;
  BASE64URL_CODE[i] = BASE64URL.charCodeAt(i);
}

// The 48 bits written by the SUFFIX_LENGTH base64url characters from `start` to the end; else -1.
function suffixValue(id: string, start: number): number {
  let value = 0;
  for (let i = start; i < id.length; i++) {
    const code = id.charCodeAt(i);
    const digit = code < 128 ? (BASE64URL_VALUE[code] as number) : -1;
    if (digit < 0) return -1;
    value = value * 64 + digit;
  }
  return value;
}

// The characters of a suffix kept as 1 + its value (0: none).
function suffixText(kept: number): string {
  if (kept === 0) return "";
  const value = kept - 1;
  const high = Math.floor(value / 2 ** 24); // two halves of 24 bits: small integers, no double arithmetic
  const low = value - high * 2 ** 24;
  return String.fromCharCode(
    BASE64URL_CODE[(high >>> 18) & 63] as number,
    BASE64URL_CODE[(high >>> 12) & 63] as number,
    BASE64URL_CODE[(high >>> 6) & 63] as number,
    BASE64URL_CODE[high & 63] as number,
    BASE64URL_CODE[(low >>> 18) & 63] as number,
    BASE64URL_CODE[(low >>> 12) & 63] as number,
    BASE64URL_CODE[(low >>> 6) & 63] as number,
    BASE64URL_CODE[low & 63] as number,
  );
}

/**
 * The numbers seen of one origin: a bit each, and the ring slot (+ 1) of the id that holds it, in a
 * window over `[base, base + span)` that moves up as newer numbers come. `span` is at least the capacity
 * plus a word, so with consecutive numbers an id is forgotten (by the ring) before the window leaves it;
 * a number left behind by a jump is moved out. Numbers reach 2^53: only offsets from `base` (under
 * `span`) go through integer operations.
 */
class SequenceWindow {
  readonly #words: Int32Array;
  // A bit per word of #words that may hold a bit (set with it, cleared when the word leaves): a slide
  // skips 32 empty words at a time. Without it ids jumping a span ahead each made every add scan every
  // word (4,096 at a capacity of 100,000: ~11 µs an add against ~0.5).
  readonly #nonEmpty: Int32Array;
  readonly #slots: Int32Array;
  readonly #mask: number;
  readonly #span: number;
  // Bits set, and a number no greater than any of them (Infinity while none): a slide starts there and
  // stops once none are left, so ids each a span past the last scan one word, not the window.
  #held = 0;
  #lowest = Number.POSITIVE_INFINITY;
  /** How many ids RecentIds had recorded when this window (re)started: see RecentIds' #mayBeInSet. */
  startedAt: number;
  // First number covered, a multiple of WORD; -1 while empty. `#baseAt`: the index of its word.
  #base = -1;
  #baseAt = 0;

  /** Bytes of one window for a ring of `capacity`. */
  static bytesFor(capacity: number): number {
    const words = SequenceWindow.#wordsFor(capacity);
    return words * (WORD * 4 + 4) + Math.ceil(words / WORD) * 4;
  }

  static #wordsFor(capacity: number): number {
    let words = 1;
    while (words < Math.ceil(capacity / WORD) + 1) words *= 2;
    return words;
  }

  constructor(
    public origin: string,
    capacity: number,
    startedAt: number,
  ) {
    this.startedAt = startedAt;
    const words = SequenceWindow.#wordsFor(capacity);
    this.#words = new Int32Array(words);
    this.#nonEmpty = new Int32Array(Math.ceil(words / WORD));
    this.#slots = new Int32Array(words * WORD);
    this.#mask = words - 1;
    this.#span = words * WORD;
  }

  /** Numbers held (no ring entry refers to a window holding none). */
  get held(): number {
    return this.#held;
  }

  /** Empties a window holding no number, for `origin` (its own again, or another's). */
  restart(origin: string, startedAt: number): void {
    this.origin = origin;
    this.startedAt = startedAt;
    this.#base = -1;
    this.#baseAt = 0;
    this.#lowest = Number.POSITIVE_INFINITY;
    this.#nonEmpty.fill(0);
  }

  /** Whether `n` (above the window) would slide it by a quarter of its span or more. */
  isFarAhead(n: number): boolean {
    return this.#base >= 0 && n - this.#base >= this.#span + (this.#span >>> 2);
  }

  /** ABOVE, BELOW, NOT_SEEN, or 1 + the ring slot of the id holding `n`. */
  test(n: number): number {
    const offset = n - this.#base;
    if (this.#base < 0 || offset >= this.#span) return ABOVE;
    if (offset < 0) return BELOW;
    const at = (this.#baseAt + (offset >>> 5)) & this.#mask;
    if ((((this.#words[at] as number) >>> (offset & 31)) & 1) === 0) return NOT_SEEN;
    return this.#slots[at * WORD + (offset & 31)] as number;
  }

  /** Marks `n` (not below the window) as held by ring slot `slot`; numbers the window leaves go to `moveOut`. */
  set(n: number, slot: number, moveOut: (window: SequenceWindow, n: number, slot: number) => void): void {
    if (this.#base < 0 || n - this.#base >= this.#span) this.#slide(n, moveOut);
    const offset = n - this.#base;
    const at = (this.#baseAt + (offset >>> 5)) & this.#mask;
    this.#words[at] = (this.#words[at] as number) | (1 << (offset & 31));
    this.#nonEmpty[at >>> 5] = (this.#nonEmpty[at >>> 5] as number) | (1 << (at & 31));
    this.#held++;
    if (n < this.#lowest) this.#lowest = n;
    this.#slots[at * WORD + (offset & 31)] = slot + 1;
  }

  /** Clears the bit of `n`, in the window (an id moved out is no longer a window entry). */
  clear(n: number): void {
    const offset = n - this.#base;
    const at = (this.#baseAt + (offset >>> 5)) & this.#mask;
    this.#words[at] = (this.#words[at] as number) & ~(1 << (offset & 31));
    if (--this.#held === 0) this.#lowest = Number.POSITIVE_INFINITY;
  }

  // Moves the window up so that `n` is in its top word.
  #slide(n: number, moveOut: (window: SequenceWindow, n: number, slot: number) => void): void {
    const base = Math.max(0, (Math.floor(n / WORD) + 1) * WORD - this.#span);
    if (this.#base >= 0) {
      const leaving = Math.min(base - this.#base, this.#span) / WORD;
      const nonEmpty = this.#nonEmpty;
      const mask = this.#mask;
      const group = Math.min(WORD, mask + 1); // a group of words ends at the ring's end when under 32
      let k = Math.max(0, Math.floor((this.#lowest - this.#base) / WORD));
      while (k < leaving && this.#held > 0) {
        const at = (this.#baseAt + k) & mask;
        const shifted = (nonEmpty[at >>> 5] as number) >>> (at & 31);
        if (shifted === 0) {
          k += group - (at & 31); // this word and the rest of its group are empty
          continue;
        }
        const first = this.#base + k * WORD;
        k++;
        if ((shifted & 1) === 0) continue;
        nonEmpty[at >>> 5] = (nonEmpty[at >>> 5] as number) & ~(1 << (at & 31));
        let bits = this.#words[at] as number;
        // Cleared first: moveOut rewrites the ring entry, which no longer points here.
        this.#words[at] = 0;
        while (bits !== 0) {
          const bit = 31 - Math.clz32(bits & -bits);
          bits &= bits - 1;
          this.#held--;
          moveOut(this, first + bit, (this.#slots[at * WORD + bit] as number) - 1);
        }
      }
    }
    this.#lowest = this.#held === 0 ? Number.POSITIVE_INFINITY : Math.max(this.#lowest, base);
    this.#base = base;
    this.#baseAt = (base / WORD) % this.#words.length;
  }
}
