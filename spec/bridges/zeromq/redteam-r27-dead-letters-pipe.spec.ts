// r27 red team: `berrymq broker dead-letters FILE | head` — the reader goes away after a few lines. The
// listing's next write failed with EPIPE, an unhandled 'error' event: a stack trace and exit code 1.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { listIntoHead, writeDeadLetters } from "./dead-letters-pipe.js";

const dir = mkdtempSync(join(tmpdir(), "berrymq-r27-dl-pipe-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("berrymq broker dead-letters: a reader that goes away (r27)", () => {
  it("stops quietly with exit code 0 when stdout's reader closes (| head)", async () => {
    const file = join(dir, "dead.jsonl");
    writeDeadLetters(file, 20_000);
    const { code, stderr } = await listIntoHead(file);
    assert.doesNotMatch(stderr, /EPIPE|Unhandled/);
    assert.equal(code, 0);
  });
});
