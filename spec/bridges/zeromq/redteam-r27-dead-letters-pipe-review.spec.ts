// r27 review of `berrymq broker dead-letters FILE | head`: the listing stopped at stdout's 'error' event,
// but it reads the file synchronously and that event comes on a later tick: the whole file was still read
// and printed to nobody before the exit (an 85 MB file: 7 s after `head` had its line). Here the tail of
// the file is unreadable lines, which the listing names on stderr only if it read that far.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";

const MAIN = fileURLToPath(new URL("../../../bridges/cli/main.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "berrymq-r27-dl-pipe-review-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("berrymq broker dead-letters: a reader that goes away (r27 review)", () => {
  it("stops reading the file once stdout's reader is gone, exit code 0", async () => {
    const file = join(dir, "dead.jsonl");
    let text = "";
    for (let i = 0; i < 50_000; i++) {
      text += `${JSON.stringify({ messageId: `m${i}`, identifier: "a:b", senderId: "0123456789abcdef", payload: "[]", reason: "expired", heldAt: 1, deadAt: 2 })}\n`;
    }
    for (let i = 0; i < 5; i++) text += "not a dead letter\n";
    writeFileSync(file, text);
    const child = spawn(process.execPath, ["--import", "tsx", MAIN, "broker", "dead-letters", file], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.once("data", () => child.stdout.destroy()); // as `head -1` does once it has its line
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    assert.equal(code, 0);
    assert.doesNotMatch(stderr, /line 5000\d/, "the listing read on to the end of the file after its reader was gone");
  });
});
