import { InvalidArgumentError } from "../../lib/errors.js";

/** Number of hash slots of a Redis Cluster. */
export const HASH_SLOTS = 16_384;

/**
 * The hash tag Redis Cluster hashes for every key that starts with `prefix`, or `undefined` when keys
 * with that prefix would not share one (no `{`, an empty `{}` — Redis then hashes the whole key — or no
 * `}` inside the prefix).
 * @example effectiveHashTag("app:{orders}:") // "orders"; effectiveHashTag("app:{}{x}:") // undefined
 */
export function effectiveHashTag(prefix: string): string | undefined {
  const open = prefix.indexOf("{");
  if (open === -1) return undefined;
  const close = prefix.indexOf("}", open + 1);
  if (close === -1 || close === open + 1) return undefined;
  return prefix.slice(open + 1, close);
}

/** Refuses a key prefix whose keys would scatter over a Cluster's slots (see {@link effectiveHashTag}). */
export function checkHashTagPrefix(argument: string, prefix: unknown): string {
  if (typeof prefix !== "string" || effectiveHashTag(prefix) === undefined) {
    throw new InvalidArgumentError(
      argument,
      prefix,
      'a prefix whose first "{" is closed by a "}" inside it with something between (a non-empty {hash tag}, e.g. "app:{orders}:"), so that every key lands in one Cluster slot',
    );
  }
  return prefix;
}

/** The Cluster hash slot of `key` (CRC16/XMODEM of its hash tag or of the whole key, mod 16384). */
export function hashSlot(key: string): number {
  const bytes = Buffer.from(key);
  let start = 0;
  let end = bytes.length;
  const open = bytes.indexOf(0x7b);
  if (open !== -1) {
    const close = bytes.indexOf(0x7d, open + 1);
    if (close > open + 1) {
      start = open + 1;
      end = close;
    }
  }
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc ^= (bytes[i] as number) << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % HASH_SLOTS;
}

/** How many keys a {@link HashSlots} remembers before it starts again. */
const REMEMBERED_SLOTS = 4_096;

/**
 * {@link hashSlot} remembered per key (bounded): a link computes the slot of the same few channels for
 * every message it sends.
 */
export class HashSlots {
  readonly #slots = new Map<string, number>();

  /** The hash slot of `key`. */
  of(key: string): number {
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      if (this.#slots.size >= REMEMBERED_SLOTS) this.#slots.clear();
      slot = hashSlot(key);
      this.#slots.set(key, slot);
    }
    return slot;
  }
}

/**
 * A prefix `<base>:{<tag>}:` (the tag `<base>`, else `<base>-1`, `<base>-2`…) whose tag hashes to a slot in
 * `[from, to]` (inclusive), e.g. one a given Cluster master serves: to spread durable prefixes over masters.
 * @example prefixInSlots("orders", 0, 5460) // "orders:{orders}:" (slot 105)
 */
export function prefixInSlots(base: string, from: number, to: number): string {
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to >= HASH_SLOTS || from > to) {
    throw new InvalidArgumentError("slots", [from, to], `a range of slots within 0..${HASH_SLOTS - 1}`);
  }
  for (let n = 0; n < 1_000_000; n++) {
    const tag = n === 0 ? base : `${base}-${n}`;
    const slot = hashSlot(`{${tag}}`);
    if (slot >= from && slot <= to) return `${base}:{${tag}}:`;
  }
  throw new InvalidArgumentError("slots", [from, to], "a range some tag hashes into");
}
