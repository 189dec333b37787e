// r27 red team: a write of the persist file or the dead-letter file cut short (a disk filling up, a file
// size limit). writeSync takes part of a buffer and says how much; the broker ignored the count: it
// confirmed a batch whose record was torn (the message missing at the next start), and released from the
// persist file a message whose dead letter was torn (lost). Here under `ulimit -f` in a child process.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { readDeadLetters } from "../../../bridges/zeromq/dead-letters.js";
import { heldInLog } from "../../helpers/persist-file.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/r27-size-limited-writes.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "berrymq-r27-torn-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// Runs the fixture with files limited to 8 KiB; the ids whose write returned.
function writeLimited(mode: "log" | "dead", file: string): string[] {
  const out = execFileSync("bash", ["-c", `ulimit -f 8; exec "${process.execPath}" --import tsx "${FIXTURE}" ${mode} "${file}"`], {
    encoding: "utf8",
  });
  return JSON.parse(out.trim().split("\n").pop() as string) as string[];
}

describe("zeromq broker: writes cut short (r27)", () => {
  it("the persist file: every record whose write returned is whole, and nothing torn is left", () => {
    const file = join(dir, "acks.log");
    const written = writeLimited("log", file);
    assert.ok(written.length > 3 && written.length < 100, `${written.length} written before the limit`);
    assert.deepEqual(heldInLog(file).sort(), [...written].sort(), "every record whose write returned is in the file");
    assert.ok(readFileSync(file, "utf8").endsWith("\n"), "no torn record at the end, for the next append to be glued to");
  });

  it("the dead-letter file: every letter whose write returned reads back, and no line is torn", () => {
    const file = join(dir, "dead.jsonl");
    const written = writeLimited("dead", file);
    assert.ok(written.length > 3 && written.length < 100, `${written.length} written before the limit`);
    const unreadable: number[] = [];
    const letters = readDeadLetters(file, ({ line }) => void unreadable.push(line));
    assert.deepEqual(letters.map((letter) => letter.messageId), written);
    assert.deepEqual(unreadable, []);
  });
});
