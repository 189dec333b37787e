// r27 review of `berrymq broker dead-letters FILE | head`: the listing stopped at stdout's 'error' event,
// but it reads the file synchronously and that event comes on a later tick: the whole file was still read
// and printed to nobody before the exit (an 85 MB file: 7 s after `head` had its line). Here the tail of
// the file is unreadable lines, which the listing names on stderr only if it read that far.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { listIntoHead, writeDeadLetters } from "./dead-letters-pipe.js";

const dir = mkdtempSync(join(tmpdir(), "berrymq-r27-dl-pipe-review-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("berrymq broker dead-letters: a reader that goes away (r27 review)", () => {
  it("stops reading the file once stdout's reader is gone, exit code 0", async () => {
    const file = join(dir, "dead.jsonl");
    writeDeadLetters(file, 50_000, "not a dead letter\n".repeat(5));
    const { code, stderr } = await listIntoHead(file);
    assert.equal(code, 0);
    assert.doesNotMatch(stderr, /line 5000\d/, "the listing read on to the end of the file after its reader was gone");
  });
});
