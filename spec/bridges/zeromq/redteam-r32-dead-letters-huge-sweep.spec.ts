// r32 red team: many dead letters due at once (a broker holding its default maxUnackedBytes, 256 MiB, whose
// messages expire together, or all at the first sweep after a restart that came after their expiry). The
// letters were joined into one string before they were written: past V8's longest string (~512 MiB; a
// payload's quotes are escaped twice, `"` in an argument is 4 characters in its letter) the append threw at
// every sweep, the messages stayed held and resent, and none ever became a dead letter.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { DeadLetterFile, type DeadLetter, eachDeadLetter } from "../../../bridges/zeromq/dead-letters.js";

const dir = mkdtempSync(join(tmpdir(), "berrymq-r32-huge-sweep-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("zeromq broker: a sweep with more dead letters than one string holds (r32)", () => {
  it("appends 560 MB of letters (280 payloads of 1 MB of quotes)", { timeout: 60_000 }, () => {
    const file = join(dir, "dead.jsonl");
    const letters = new DeadLetterFile(file);
    // One payload string shared by every letter: the spec holds 1 MB, the letters as written 560 MB.
    const payload = '"'.repeat(1_000_000);
    const batch: DeadLetter[] = Array.from({ length: 280 }, (_, i) => ({
      messageId: `m${i}`,
      identifier: "job:run",
      senderId: "00000000000000d1",
      payload,
      reason: "expired",
      heldAt: 1,
      deadAt: 2,
    }));
    try {
      letters.append(batch);
    } finally {
      letters.close();
    }
    assert.ok(statSync(file).size > 2 * 280 * 1_000_000, "every letter written");
    let last: DeadLetter | undefined;
    let count = 0;
    eachDeadLetter(file, (letter) => {
      count++;
      last = { ...letter, payload: "" };
    });
    assert.equal(count, 280);
    assert.equal(last?.messageId, "m279");
  });
});
