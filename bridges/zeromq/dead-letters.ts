import { closeSync, existsSync, fdatasyncSync, openSync, readFileSync, writeSync } from "node:fs";
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
  #fd: number;

  /** Opens (or creates) `file` for appending. @throws PersistError. */
  constructor(file: string) {
    this.file = file;
    try {
      this.#fd = openSync(file, "a");
    } catch (error) {
      throw new PersistError(file, error);
    }
  }

  /** Appends dead letters and syncs them to the disk. @throws PersistError. */
  append(letters: readonly DeadLetter[]): void {
    if (letters.length === 0) return;
    let text = "";
    for (const letter of letters) text += `${JSON.stringify(letter)}\n`;
    try {
      writeSync(this.#fd, text);
      fdatasyncSync(this.#fd);
    } catch (error) {
      throw new PersistError(this.file, error);
    }
  }

  /** Closes the file. */
  close(): void {
    closeSync(this.#fd);
  }
}

/** Reads a dead-letter file (a torn last line from a crash is skipped). @throws PersistError. */
export function readDeadLetters(file: string): DeadLetter[] {
  let text: string;
  try {
    text = existsSync(file) ? readFileSync(file, "utf8") : "";
  } catch (error) {
    throw new PersistError(file, error);
  }
  const letters: DeadLetter[] = [];
  for (const line of text.split("\n")) {
    if (line.length === 0) continue;
    try {
      const value = JSON.parse(line) as Partial<DeadLetter>;
      if (typeof value.messageId === "string" && typeof value.identifier === "string") letters.push(value as DeadLetter);
    } catch {
      // A line cut short by a crash.
    }
  }
  return letters;
}
