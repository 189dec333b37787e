import { randomFillSync } from "node:crypto";

/** Characters of each suffix: 8 base64url characters carry 48 random bits. */
export const SUFFIX_LENGTH = 8;

// 6,144 random bytes are 8,192 base64url characters: one randomFillSync and one toString serve 1,024
// suffixes (a call each would cost ~1 µs a message).
const bytes = Buffer.allocUnsafe(6_144);
let pool = "";
let next = 0;

/**
 * Eight random base64url characters (`A-Z a-z 0-9 - _`, never `/`), for the part of a messageId nobody
 * may predict from the ids seen before: a process that could guess a bus's next ids could send junk
 * under them first, and every receiver would drop the real messages as duplicates.
 */
export function unguessableSuffix(): string {
  if (next === pool.length) {
    pool = randomFillSync(bytes).toString("base64url");
    next = 0;
  }
  const start = next;
  next += SUFFIX_LENGTH;
  return pool.slice(start, next);
}

/**
 * `<origin>/<n><8 random characters>`: the messageId of a message built outside a bus (one a berryMQ 0.3
 * peer sent without an id), as unguessable as a bus's own. `n` keeps it unique for its origin.
 */
export function unguessableMessageId(origin: string, n: number): string {
  return `${origin}/${n}${unguessableSuffix()}`;
}
