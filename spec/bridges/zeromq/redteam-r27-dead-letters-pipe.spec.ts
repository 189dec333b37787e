// r27 red team: `berrymq broker dead-letters FILE | head` — the reader goes away after a few lines. The
// listing's next write failed with EPIPE, an unhandled 'error' event: a stack trace and exit code 1.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";

const MAIN = fileURLToPath(new URL("../../../bridges/cli/main.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "berrymq-r27-dl-pipe-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("berrymq broker dead-letters: a reader that goes away (r27)", () => {
  it("stops quietly with exit code 0 when stdout's reader closes (| head)", async () => {
    const file = join(dir, "dead.jsonl");
    let text = "";
    for (let i = 0; i < 20_000; i++) {
      text += `${JSON.stringify({ messageId: `m${i}`, identifier: "a:b", senderId: "0123456789abcdef", payload: "[]", reason: "expired", heldAt: 1, deadAt: 2 })}\n`;
    }
    writeFileSync(file, text);
    const child = spawn(process.execPath, ["--import", "tsx", MAIN, "broker", "dead-letters", file], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.once("data", () => child.stdout.destroy()); // as `head -1` does once it has its line
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    assert.doesNotMatch(stderr, /EPIPE|Unhandled/);
    assert.equal(code, 0);
  });
});
