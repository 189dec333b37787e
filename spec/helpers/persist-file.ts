import { readFileSync } from "node:fs";

/**
 * The messageIds a broker's persist file still holds, read without opening it as a broker would (that
 * compacts it). `whenMissing`: what a file that cannot be read gives (else the read throws).
 */
export function heldInLog(file: string, whenMissing?: string[]): string[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if (whenMissing !== undefined) return whenMissing;
    throw error;
  }
  const held = new Set<string>();
  for (const line of text.split("\n")) {
    try {
      const record = JSON.parse(line) as { m?: string; a?: string };
      if (record.m !== undefined) held.add(record.m);
      if (record.a !== undefined) held.delete(record.a);
    } catch {
      // A line being written (or empty) is not a record yet.
    }
  }
  return [...held];
}
