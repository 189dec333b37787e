// Red team r31: `berrymq broker --persist-file F --dead-letter-file F`. Taken, the broker wrote its dead
// letters into its persist log: the next start reported the log damaged ("records that are no held message
// or release were skipped"), and the log's rewrite dropped the dead letters. An empty file option was told
// as `persist file "": ENOENT`, exit 1, whichever it was.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { describe, it } from "node:test";
import { bounded } from "../../helpers/cli-process.js";

describe("red team r31: berrymq broker with one file for its persist log and its dead letters", () => {
  it("is refused with exit 2, naming --dead-letter-file, by path or through a link", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "berrymq-r31-same-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const log = join(dir, "broker.log");
    writeFileSync(log, "");
    const link = join(dir, "dead.log");
    symlinkSync(log, link);
    const fresh = join(dir, "new.log");
    for (const [persist, deadLetters] of [
      [log, `${dir}/./broker.log`],
      [log, link],
      // Neither there yet: the paths are compared.
      [fresh, `${dir}/../${basename(dir)}/new.log`],
    ] as const) {
      // Bounded at 20 s: the old broker ran until killed.
      const run = await bounded(
        ["broker", "--pub-port", "0", "--recv-port", "0", "--persist-file", persist, "--dead-letter-file", deadLetters],
        {},
        20_000,
      );
      assert.equal(run.killed, false, `the broker ran: ${run.stdout}`);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(
        run.stderr,
        `berrymq broker: invalid --dead-letter-file ${JSON.stringify(deadLetters)}: expected a file other than --persist-file\n`,
      );
    }
  });

  it('refuses --persist-file "" and --dead-letter-file "" with exit 2, naming the option (was `persist file "": ENOENT`, exit 1)', async () => {
    for (const option of ["--persist-file", "--dead-letter-file"]) {
      const run = await bounded(["broker", "--pub-port", "0", "--recv-port", "0", option, ""], {}, 20_000);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stderr, `berrymq broker: invalid ${option} "": expected a file path\n`);
    }
  });
});
