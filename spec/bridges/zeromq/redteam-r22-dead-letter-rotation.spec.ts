// Red team r22: an operator moves the dead-letter file away (the README's answer to its growth) or
// deletes it while the broker runs.
import assert from "node:assert/strict";
import { mkdtempSync, renameSync, rmSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { readDeadLetters } from "../../../bridges/zeromq/index.js";
import { acknowledgingSender, expiringBroker } from "./broker-helpers.js";
import { waitFor } from "../../helpers/wait-for.js";

const dir = mkdtempSync(join(tmpdir(), "berrymq-r22-rotate-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("zeromq broker: red team r22 (dead-letter file moved or deleted while the broker runs)", () => {
  it("red team: after the dead-letter file is moved away, then after it is deleted, the next dead letters go to a new file at its path (they went to the moved file, then to a deleted one: lost)", {
    timeout: 20_000,
  }, async (t) => {
    const deadLetterFile = join(dir, "dead.log");
    const { broker, letters } = await expiringBroker(deadLetterFile);
    const sender = await acknowledgingSender(broker);
    t.after(async () => {
      await sender.close();
      broker.close();
    });
    const identifiers = (file: string): string[] => readDeadLetters(file).map((l) => l.identifier);
    sender.bus.twitter("job:one", 1);
    await waitFor(() => letters.length === 1, "the first dead letter", 10_000);
    renameSync(deadLetterFile, `${deadLetterFile}.1`);
    sender.bus.twitter("job:two", 2);
    await waitFor(() => letters.length === 2, "the second dead letter", 10_000);
    assert.deepEqual(identifiers(`${deadLetterFile}.1`), ["job:one"], "the moved file keeps what it held");
    assert.deepEqual(identifiers(deadLetterFile), ["job:two"], "a new file at the configured path gets the next letter");
    unlinkSync(deadLetterFile);
    sender.bus.twitter("job:three", 3);
    await waitFor(() => letters.length === 3, "the third dead letter", 10_000);
    assert.deepEqual(identifiers(deadLetterFile), ["job:three"], "after a delete, the next letter is in a new file at the path");
  });
});
