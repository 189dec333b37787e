import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync, statSync, writeSync } from "node:fs";
import { resolve } from "node:path";
import { checkRegularFile, eachLine, MAX_LINE } from "./ack-log.js";
import { PersistError } from "./errors.js";

/** An acknowledged message nobody acknowledged before its expiry: the broker released it as a dead letter. */
export interface DeadLetter {
  messageId: string;
  identifier: string;
  /** The client id of the publisher. */
  senderId: string;
  /** The envelope JSON, as the sender wrote it. */
  payload: string;
  /** Why it died; only `"expired"` today. */
  reason: "expired";
  /** When the broker took it (epoch ms). */
  heldAt: number;
  /** When it expired (epoch ms). */
  deadAt: number;
}

/**
 * The dead-letter file: one JSON line per dead letter, appended and synced before the broker releases the
 * message from its persist file (a crash in between gives the same dead letter twice, never none).
 */
export class DeadLetterFile {
  readonly file: string;
  // Its absolute path: after a chdir of the process, the relative path named another file, taken for this
  // one moved away, and the letters went to a new file in the new working directory.
  readonly #path: string;
  #fd: number;

  /**
   * Opens (or creates) `file` for appending. A last line without its newline (a write cut short by a
   * crash) is ended first, so that the next letter starts a line of its own: appended to the torn one, it
   * was unreadable (lost from the file; its message was released). The torn line is left as it is (the
   * reader reports it); its message was not released yet, so it expires again and is written whole.
   * @throws PersistError.
   */
  constructor(file: string) {
    this.file = file;
    this.#path = resolve(file);
    this.#fd = openLetters(file);
  }

  /**
   * Appends dead letters and syncs them to the disk. When the file was moved away or deleted since it was
   * opened (the way to keep it from growing), a new one is opened at its path first: the letters went to
   * the moved file, or to a deleted one (lost). @throws PersistError.
   */
  append(letters: readonly DeadLetter[]): void {
    if (letters.length === 0) return;
    this.#reopenIfMoved();
    // Every byte or an error: writeSync takes part of a buffer when a disk fills or a file size limit is
    // reached, and the rest was dropped unsaid (a torn letter whose message was then released: lost). A
    // write cut short is cut off, so the letters stay held and are written whole at a later sweep.
    // Written in pieces of about 1 MiB: one string of every letter due passed V8's longest string (~512 MiB;
    // 256 MiB held, quotes escaped twice), the append failed at every sweep, and nothing held ever expired.
    let size = -1;
    let written = 0;
    const put = (text: string): void => {
      const bytes = Buffer.from(text);
      for (let at = 0; at < bytes.length; ) {
        const taken = writeSync(this.#fd, bytes, at, bytes.length - at);
        at += taken;
        written += taken;
      }
    };
    try {
      size = fstatSync(this.#fd).size;
      let text = "";
      for (const letter of letters) {
        text += `${JSON.stringify(letter)}\n`;
        if (text.length >= LETTERS_PIECE) {
          put(text);
          text = "";
        }
      }
      if (text.length > 0) put(text);
      fdatasyncSync(this.#fd);
    } catch (error) {
      if (written > 0 && size >= 0) {
        try {
          ftruncateSync(this.#fd, size);
        } catch {
          // Left torn: the reader skips the line, and the letters are written whole again.
        }
      }
      throw new PersistError(this.file, error);
    }
  }

  /** Closes the file. */
  close(): void {
    closeSync(this.#fd);
  }

  #reopenIfMoved(): void {
    let moved: boolean;
    try {
      const open = fstatSync(this.#fd);
      const atPath = statSync(this.#path, { throwIfNoEntry: false });
      moved = atPath === undefined || atPath.ino !== open.ino || atPath.dev !== open.dev;
    } catch (error) {
      throw new PersistError(this.file, error);
    }
    if (!moved) return;
    const fd = openLetters(this.#path);
    closeSync(this.#fd);
    this.#fd = fd;
  }
}

// Opens (or creates) a dead-letter file for appending. A last line without its newline (a write cut short
// by a crash) is ended first, so that the next letter starts a line of its own.
function openLetters(file: string): number {
  checkRegularFile(file);
  let fd: number;
  try {
    fd = openSync(file, "a+");
  } catch (error) {
    throw new PersistError(file, error);
  }
  try {
    const size = fstatSync(fd).size;
    const last = Buffer.alloc(1);
    if (size > 0 && readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== NEWLINE) {
      writeSync(fd, "\n");
      fdatasyncSync(fd);
    }
  } catch (error) {
    closeSync(fd);
    throw new PersistError(file, error);
  }
  return fd;
}

const NEWLINE = 0x0a;

// Characters of dead letters written at once.
const LETTERS_PIECE = 1_048_576;

/**
 * Longest line {@link eachDeadLetter} reads (256 MiB, under V8's ~512 MiB string limit); a longer one is
 * reported unreadable, skipped without being held in memory.
 */
export const MAX_DEAD_LETTER_LINE = MAX_LINE;

/** A line of a dead-letter file that is no dead letter: its 1-based number and why. */
export interface UnreadableLine {
  line: number;
  reason: string;
}

/**
 * Reads a dead-letter file line by line, in bounded memory whatever its size, handing each dead letter to
 * `onLetter` and each line that is none (torn by a crash, damaged, of the wrong shape, longer than
 * {@link MAX_DEAD_LETTER_LINE}) to `onUnreadable`. A missing file holds none.
 * @throws PersistError when the file cannot be read.
 */
export function eachDeadLetter(
  file: string,
  onLetter: (letter: DeadLetter) => void,
  onUnreadable: (unreadable: UnreadableLine) => void = () => undefined,
  maxLine = MAX_DEAD_LETTER_LINE,
): void {
  eachLine(
    file,
    (text, line) => {
      const fault = text === undefined ? `longer than ${maxLine} bytes` : letterFault(text);
      if (typeof fault === "string") onUnreadable({ line, reason: fault });
      else onLetter(fault);
    },
    maxLine,
  );
}

/**
 * Reads a dead-letter file. Lines that are no dead letter (a line torn by a crash, damage) are skipped:
 * `onUnreadable` hears each, with its line number. @throws PersistError.
 */
export function readDeadLetters(file: string, onUnreadable?: (unreadable: UnreadableLine) => void): DeadLetter[] {
  const letters: DeadLetter[] = [];
  eachDeadLetter(file, (letter) => void letters.push(letter), onUnreadable);
  return letters;
}

// The letter a line holds, or why it holds none: every field of the shape the broker writes (a record
// without its dates printed as "Invalid time value" and stopped the listing).
function letterFault(line: string): DeadLetter | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return "not JSON (a line cut short by a crash, or damaged)";
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not a JSON object";
  const v = value as Record<string, unknown>;
  for (const key of ["messageId", "identifier", "senderId", "payload", "reason"] as const) {
    if (typeof v[key] !== "string") return `its ${key} is not a string`;
  }
  for (const key of ["heldAt", "deadAt"] as const) {
    const time = v[key];
    if (typeof time !== "number" || !Number.isFinite(new Date(time).getTime())) return `its ${key} is not a time in epoch ms`;
  }
  return value as DeadLetter;
}
