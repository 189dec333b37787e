import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  linkSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { dirname, resolve } from "node:path";
import { CLIENT_ID } from "./broker-protocol.js";
import { PersistError } from "./errors.js";

/** An acknowledged message the broker holds until a subscriber acknowledges it. */
export interface HeldMessage {
  messageId: string;
  identifier: string;
  senderId: string;
  /** The envelope JSON, as the sender wrote it. */
  payload: string;
  /** When the broker took it (epoch ms). */
  heldAt: number;
  /** When it becomes a dead letter (epoch ms; `Infinity`: never; undefined: a record from before expiry existed). */
  expiresAt?: number;
}

/**
 * When the log reaches the disk. `"batch"`: one fdatasync per received batch holding acknowledged
 * messages, before the broker confirms it (a confirmed message survives a crash of the machine).
 * `"none"`: written at once but left to the OS (survives a killed broker, not a power cut).
 */
export type FsyncPolicy = "batch" | "none";

// Rewrite the log once it holds this many records more than twice the messages still held.
const COMPACT_SLACK = 1_000;

/**
 * The persist file: an append-only log of JSON lines, `{"m":…}` for a held message and `{"a":…}` for its
 * release (acknowledged, or expired into a dead letter). Replayed on start (a torn last line from a crash is ignored); compacted by writing the
 * held messages to a temp file, syncing it and renaming it over the log.
 */
export class AckLog {
  readonly file: string;
  // The file's absolute path: checked and compacted into there, whatever the process's working directory
  // since (a relative path after a chdir named another file: "replaced" at every batch, rewritten there).
  readonly #path: string;
  readonly #fsync: FsyncPolicy;
  readonly #lock: PersistLock;
  #fd: number;
  // The file's length: a write cut short is cut off back to it.
  #size: number;
  // A write cut short could not be cut off: the next append starts a line of its own.
  #torn = false;
  #records = 0;
  #dirty = false;
  // After a compaction failed (a disk full), none is tried before the log holds this many records: twice
  // as many as at the failure. Tried again on every acknowledgement, it rewrote everything held and
  // reported an error for each.
  #retryAt = 0;

  private constructor(file: string, fsync: FsyncPolicy, lock: PersistLock, fd: number, records: number) {
    this.file = file;
    this.#path = resolve(file);
    this.#fsync = fsync;
    this.#lock = lock;
    this.#fd = fd;
    this.#size = fstatSync(fd).size;
    this.#records = records;
  }

  /**
   * Opens (or creates) the log and replays it.
   * The file is locked (`<file>.lock`, holding the process id) until {@link close}: a second broker on it
   * compacted it (a rename over it) while the first went on writing to the replaced, unlinked file, so
   * everything the first confirmed from then on was lost at its next restart.
   * `undatedExpiresAt`: the expiry (epoch ms) a record from before expiry existed (one without its own) is
   * given. The compaction at open writes it into the record: left out, such a record took `now + expiry`
   * at every start and never expired while the broker restarted more often than that.
   * @returns the log and the messages still held, oldest first.
   * @throws PersistError when the file cannot be read or opened, or another live process (or this one)
   * has it open.
   */
  static open(
    file: string,
    fsync: FsyncPolicy,
    undatedExpiresAt?: number,
  ): { log: AckLog; held: HeldMessage[]; skipped: number } {
    const lock = PersistLock.take(file);
    try {
      return AckLog.#open(file, fsync, lock, undatedExpiresAt);
    } catch (error) {
      lock.release();
      throw error;
    }
  }

  static #open(
    file: string,
    fsync: FsyncPolicy,
    lock: PersistLock,
    undatedExpiresAt: number | undefined,
  ): { log: AckLog; held: HeldMessage[]; skipped: number } {
    const held = new Map<string, HeldMessage>();
    let records = 0;
    let skipped = 0;
    // A compaction's temp file left by a broker killed during it (the log itself is whole: the temp file
    // only replaces it by a rename) is dropped before anything else: it held disk space (up to everything
    // held) that the compaction below may need.
    unlinkQuietly(`${file}.compact`);
    try {
      checkRegularFile(file);
      // Read in chunks, line by line: read whole into one string, a file past V8's longest string
      // (~512 MiB: 10,000 held messages of 50 KB, or a region of zeros a crash of the machine left)
      // stopped the broker from starting at all.
      // The last line may be cut short by a crash; any other that does not read is skipped and counted
      // (the records after it still count: stopping there would lose them without a word).
      let unread = false;
      eachLine(file, (line) => {
        if (unread) skipped++;
        const record = line === undefined ? undefined : parseRecord(line);
        unread = record === undefined;
        if (record === undefined) return;
        records++;
        if ("a" in record) held.delete(record.a);
        else held.set(record.messageId, record);
      });
      // A record held later than now was written under a clock ahead of this one (stepped back since, or
      // the file moved from another machine): taken as held now, its expiry comes as much earlier. Else a
      // message of a 6 s expiry written a year ahead was held and resent for a year, past maxExpiry.
      const now = Date.now();
      for (const message of held.values()) {
        if (!(message.heldAt > now)) continue;
        if (message.expiresAt !== undefined) message.expiresAt -= message.heldAt - now;
        message.heldAt = now;
      }
      if (undatedExpiresAt !== undefined) for (const message of held.values()) message.expiresAt ??= undatedExpiresAt;
      const log = new AckLog(file, fsync, lock, openSync(file, "a"), records);
      log.compact([...held.values()]);
      return { log, held: [...held.values()], skipped };
    } catch (error) {
      throw error instanceof PersistError ? error : new PersistError(file, error);
    }
  }

  /** Appends held messages. */
  hold(messages: readonly HeldMessage[]): void {
    if (messages.length === 0) return;
    let text = "";
    for (const m of messages) text += recordLine(m);
    this.#append(text, messages.length);
  }

  /** Appends releases (acknowledgements, expiries). */
  acked(messageIds: readonly string[]): void {
    if (messageIds.length === 0) return;
    let text = "";
    for (const id of messageIds) text += `${JSON.stringify({ a: id })}\n`;
    this.#append(text, messageIds.length);
  }

  /** Makes what was appended durable, as the fsync policy says; called before a batch is confirmed. */
  sync(): void {
    if (!this.#dirty || this.#fsync === "none") return;
    try {
      fdatasyncSync(this.#fd);
    } catch (error) {
      throw new PersistError(this.file, error);
    }
    this.#dirty = false;
  }

  /**
   * Whether the file at the log's path is no longer the one this log writes, whole: deleted, moved, replaced
   * (a restored copy, a directory), truncated or written by another process. Appends then reach no next
   * start: the broker went on writing to an unlinked file, or over what a truncation dropped, and the
   * messages it confirmed were gone after a restart. {@link compact} writes the log anew at its path.
   */
  replaced(): boolean {
    try {
      const open = fstatSync(this.#fd);
      const atPath = statSync(this.#path, { throwIfNoEntry: false });
      return atPath === undefined || atPath.ino !== open.ino || atPath.dev !== open.dev || open.size !== this.#size;
    } catch {
      return true;
    }
  }

  /** Whether the log has grown enough, relative to `held` messages, to be worth rewriting. */
  wantsCompaction(held: number): boolean {
    return this.#records > held * 2 + COMPACT_SLACK && this.#records >= this.#retryAt;
  }

  /** Rewrites the log to hold exactly `held`, atomically (temp file, fsync, rename, directory fsync). */
  compact(held: readonly HeldMessage[]): void {
    const temp = `${this.#path}.compact`;
    let compactedSize = 0;
    try {
      const fd = openSync(temp, "w");
      try {
        // Written in pieces of about 1 MiB: one string of everything held passed V8's longest string
        // (~512 MiB) with 600 held messages of 1 MiB, and the broker could not start (found in review).
        let text = "";
        let size = 0;
        for (const m of held) {
          text += recordLine(m);
          if (text.length >= COMPACT_PIECE) {
            size += writeAll(fd, text);
            text = "";
          }
        }
        if (text.length > 0) size += writeAll(fd, text);
        compactedSize = size;
        fsyncSync(fd);
        renameSync(temp, this.#path);
      } catch (error) {
        try {
          closeSync(fd);
        } catch {
          // The failure thrown below is the one to report.
        }
        // A compaction that failed (a write cut short by a full disk, a failed fsync or rename) left its
        // temp file behind, holding up to everything held on a disk that may be full.
        unlinkQuietly(temp);
        throw error;
      }
      // The compacted file's own descriptor (at its end) takes the appends: opening the file again after
      // the rename could fail, and the old descriptor then wrote on into the replaced, unlinked file.
      const old = this.#fd;
      this.#fd = fd;
      try {
        closeSync(old);
      } catch {
        // The old file is replaced already; its descriptor is no longer written.
      }
      this.#records = held.length;
      this.#size = compactedSize;
      this.#torn = false;
      this.#dirty = false;
      this.#retryAt = 0;
      syncDirectory(dirname(this.#path));
    } catch (error) {
      this.#retryAt = Math.max(this.#records * 2, this.#records + COMPACT_SLACK);
      throw new PersistError(this.file, error);
    }
  }

  /** Syncs and closes the file, and releases its lock. */
  close(): void {
    try {
      if (this.#dirty) fdatasyncSync(this.#fd);
    } finally {
      try {
        closeSync(this.#fd);
      } finally {
        this.#lock.release();
      }
    }
  }

  // Every byte or an error: writeSync takes part of a buffer when a disk fills or a file size limit is
  // reached, and the rest was dropped unsaid: the broker confirmed a batch whose record was torn (lost at
  // the next start), and the next record, glued to it, was lost too. A write cut short is cut off.
  #append(text: string, records: number): void {
    const bytes = Buffer.from(this.#torn ? `\n${text}` : text);
    let written = 0;
    try {
      while (written < bytes.length) written += writeSync(this.#fd, bytes, written, bytes.length - written);
    } catch (error) {
      if (written > 0) {
        try {
          ftruncateSync(this.#fd, this.#size);
        } catch {
          this.#size += written;
          this.#torn = true;
        }
      }
      throw new PersistError(this.file, error);
    }
    this.#size += bytes.length;
    this.#torn = false;
    this.#records += records;
    this.#dirty = true;
  }

}

// Persist files this process has open (by absolute path): a lock file naming this process's id may be
// left by a killed predecessor that had the same id (a container's broker is often pid 1).
const lockedHere = new Set<string>();
// The texts of the locks this process holds: a lock naming this process is its own (not a predecessor's)
// when it is one of them, whatever path reached it (a symlinked directory: found in review, a second
// broker in the process took over the first's lock as a predecessor's, and both ran on the file).
const heldTexts = new Set<string>();

// Tries to take a lock before giving up (each lost to another process taking the same stale lock).
const LOCK_ATTEMPTS = 5;

/**
 * A persist file's lock: `<file>.lock`, holding the id of the process that has the file open and a random
 * token. One left by a process no longer alive (a broker killed with SIGKILL) is taken over.
 * The lock is written whole to a temp file and linked in (never seen empty), and a stale one is moved
 * aside and checked before it is dropped: created empty then written, and deleted after its holder was
 * read, two processes starting at once both took it (an empty lock read as stale, or a stale lock deleted
 * after the other process had replaced it with its own; found in review: 3 and 7 double owners in 200
 * races), and both ran on the file.
 */
class PersistLock {
  private constructor(
    readonly path: string,
    readonly key: string,
    readonly text: string,
  ) {}

  /** @throws PersistError naming the process that holds `file`. */
  static take(file: string): PersistLock {
    const path = `${file}.lock`;
    const key = resolve(path);
    if (lockedHere.has(key)) throw new PersistError(file, new Error(`in use by this process (another broker has it open; lock ${path})`));
    const text = `${process.pid} ${randomBytes(8).toString("hex")}\n`;
    for (let attempt = 0; attempt < LOCK_ATTEMPTS; attempt++) {
      if (linkLock(file, path, text)) {
        lockedHere.add(key);
        heldTexts.add(text);
        return new PersistLock(path, key, text);
      }
      const seen = readLock(file, path);
      if (seen === undefined) continue; // gone since: try again
      if (heldTexts.has(seen)) throw new PersistError(file, new Error(`in use by this process (another broker has it open; lock ${path})`));
      const holder = holderIn(seen);
      if (holder !== undefined && holder !== process.pid && alive(holder)) throw new PersistError(file, inUse(holder, path));
      // Stale: moved aside, then dropped only if it is still the lock read (not one another process took
      // meanwhile, which is put back).
      const aside = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.stale`;
      try {
        renameSync(path, aside);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw new PersistError(file, error);
      }
      const moved = readLock(file, aside);
      if (moved !== seen && moved !== undefined) {
        try {
          linkSync(aside, path);
        } catch {
          // Another process took the lock meanwhile; this one is refused either way.
        }
        unlinkQuietly(aside);
        const taker = holderIn(moved);
        throw new PersistError(file, taker === undefined ? new Error(`its lock ${path} is being taken`) : inUse(taker, path));
      }
      unlinkQuietly(aside);
    }
    const holder = holderIn(readLock(file, path) ?? "");
    throw new PersistError(file, holder === undefined ? new Error(`its lock ${path} could not be taken`) : inUse(holder, path));
  }

  release(): void {
    if (!lockedHere.delete(this.key)) return;
    heldTexts.delete(this.text);
    try {
      if (readFileSync(this.path, "utf8") === this.text) unlinkSync(this.path);
    } catch {
      // Gone already: nothing to release.
    }
  }
}

// Links a lock holding `text` in at `path`; false if one is there. The text is whole before the lock exists.
function linkLock(file: string, path: string, text: string): boolean {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.new`;
  try {
    writeFileSync(temp, text, { flag: "wx" });
    linkSync(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new PersistError(file, error);
  } finally {
    unlinkQuietly(temp);
  }
}

// A lock's text; undefined if it is gone. @throws PersistError when it cannot be read (a directory).
function readLock(file: string, path: string): string | undefined {
  // A FIFO there blocked the read, and the broker's start, for good.
  const stats = statSync(path, { throwIfNoEntry: false });
  if (stats !== undefined && !stats.isFile()) throw new PersistError(file, new Error(`its lock ${path} is not a regular file`));
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new PersistError(file, error);
  }
}

/**
 * Refuses a path holding something other than a regular file (or nothing): a FIFO there blocked the broker
 * for good, its start in the open (no writer) or, as the dead-letter file, its sweep once the pipe was full.
 * @throws PersistError naming the file.
 */
export function checkRegularFile(file: string): void {
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(file, { throwIfNoEntry: false });
  } catch (error) {
    throw new PersistError(file, error);
  }
  if (stats !== undefined && !stats.isFile()) {
    const what = stats.isDirectory() ? "a directory" : stats.isFIFO() ? "a FIFO" : "not a regular file";
    throw new PersistError(file, new Error(`${what} is at its path, where a regular file is wanted`));
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Gone already.
  }
}

function inUse(pid: number, path: string): Error {
  return new Error(`in use by process ${pid} (its lock ${path}; delete the lock if no broker of that process runs)`);
}

// The process id a lock's text names, if it names one.
function holderIn(text: string): number | undefined {
  const pid = Number(text.trim().split(/\s+/)[0]);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"; // alive, another user's
  }
}

type LogRecord = HeldMessage | { a: string };

const NEWLINE = 0x0a;

/** Longest line {@link eachLine} reads (256 MiB, under V8's ~512 MiB string limit). */
export const MAX_LINE = 256 * 1024 * 1024;

// Bytes read from a file at a time.
const CHUNK = 1024 * 1024;

/**
 * Reads `file` line by line in bounded memory (1 MiB chunks), whatever its size: `onLine` hears each
 * non-empty line with its 1-based number, `undefined` for one longer than `maxLine` (skipped unread). A
 * missing file has no lines. @throws PersistError when it cannot be read.
 */
export function eachLine(file: string, onLine: (line: string | undefined, lineNumber: number) => void, maxLine = MAX_LINE): void {
  let fd: number;
  try {
    if (!existsSync(file)) return;
    fd = openSync(file, "r");
  } catch (error) {
    throw new PersistError(file, error);
  }
  try {
    const chunk = Buffer.allocUnsafe(CHUNK);
    let parts: Buffer[] = [];
    let partBytes = 0;
    let tooLong = false;
    let lineNumber = 0;
    const endLine = (): void => {
      lineNumber++;
      if (tooLong) onLine(undefined, lineNumber);
      else if (partBytes > 0)
        onLine((parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, partBytes)).toString(), lineNumber);
      parts = [];
      partBytes = 0;
      tooLong = false;
    };
    for (;;) {
      let read: number;
      try {
        read = readSync(fd, chunk, 0, CHUNK, null);
      } catch (error) {
        throw new PersistError(file, error);
      }
      if (read === 0) break;
      let start = 0;
      while (start < read) {
        const end = chunk.indexOf(NEWLINE, start);
        const stop = end === -1 || end >= read ? read : end;
        if (!tooLong) {
          if (partBytes + stop - start > maxLine) {
            tooLong = true;
            parts = [];
            partBytes = 0;
          } else if (stop > start) {
            parts.push(Buffer.from(chunk.subarray(start, stop)));
            partBytes += stop - start;
          }
        }
        if (stop === read) break;
        endLine();
        start = stop + 1;
      }
    }
    if (partBytes > 0 || tooLong) endLine();
  } finally {
    closeSync(fd);
  }
}

function recordLine(m: HeldMessage): string {
  // JSON has no Infinity: `"e": null` is "never expires".
  const e = m.expiresAt === undefined ? undefined : Number.isFinite(m.expiresAt) ? m.expiresAt : null;
  return `${JSON.stringify({ m: m.messageId, i: m.identifier, s: m.senderId, p: m.payload, t: m.heldAt, e })}\n`;
}

function parseRecord(line: string): LogRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (typeof record.a === "string") return { a: record.a };
  // A sender that is no client id, or a payload over several lines, would break the DELIVER frames it is
  // written into: no broker writes either.
  if (
    typeof record.m === "string" &&
    typeof record.i === "string" &&
    typeof record.s === "string" &&
    CLIENT_ID.test(record.s) &&
    typeof record.p === "string" &&
    !record.p.includes("\n")
  ) {
    const held: HeldMessage = {
      messageId: record.m,
      identifier: record.i,
      senderId: record.s,
      payload: record.p,
      // A "t" past the largest double (1e400: only a file changed by hand or damaged) reads as Infinity:
      // taken as held ahead of the clock, it made a finite expiry -Infinity (a dead letter at once) and a
      // null one NaN. Read as a record without "t".
      heldAt: typeof record.t === "number" && Number.isFinite(record.t) ? record.t : Date.now(),
    };
    if (record.e === null) held.expiresAt = Number.POSITIVE_INFINITY;
    else if (typeof record.e === "number") held.expiresAt = record.e;
    return held;
  }
  return undefined;
}

// The rename is durable only once the directory entry is.
function syncDirectory(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Characters of records written at once while compacting. */
const COMPACT_PIECE = 1_048_576;

// writeSync may take part of a buffer (a full disk takes what it can, then throws): write the rest.
// Returns the bytes written.
function writeAll(fd: number, text: string): number {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
  return bytes.length;
}
