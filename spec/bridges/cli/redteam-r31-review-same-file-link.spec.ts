// Review of r31's `broker --persist-file F --dead-letter-file F` refusal: with neither file there yet (a
// broker's first start), r31 compared the two paths as written, so one reached through a linked directory
// (a data directory that is a link, /tmp and /private/tmp on macOS) was taken as another file. The broker
// created its persist log there and would write its dead letters into it; only the next start refused them.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { bounded, cli } from "../../helpers/cli-process.js";
import { waitFor } from "../../helpers/wait-for.js";

describe("red team r31 review: broker --persist-file and --dead-letter-file, neither there yet", () => {
  it("is refused with exit 2 when one reaches the other through a linked directory", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "berrymq-r31-review-link-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, "data"));
    symlinkSync(join(dir, "data"), join(dir, "linked"));
    const [persist, deadLetters] = [join(dir, "data", "broker.log"), join(dir, "linked", "broker.log")];
    // Bounded at 20 s: the broker ran until killed.
    const args = ["broker", "--pub-port", "0", "--recv-port", "0", "--persist-file", persist, "--dead-letter-file", deadLetters];
    const run = await bounded(args, {}, 20_000);
    assert.equal(run.killed, false, `the broker ran: ${run.stdout}`);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(
      run.stderr,
      `berrymq broker: invalid --dead-letter-file ${JSON.stringify(deadLetters)}: expected a file other than --persist-file\n`,
    );
  });

  it("still runs with two files in one linked directory", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "berrymq-r31-review-link-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, "data"));
    symlinkSync(join(dir, "data"), join(dir, "linked"));
    const [persist, deadLetters] = [join(dir, "data", "broker.log"), join(dir, "linked", "dead.log")];
    const broker = cli([
      "broker",
      "--pub-port",
      "0",
      "--recv-port",
      "0",
      "--persist-file",
      persist,
      "--dead-letter-file",
      deadLetters,
    ]);
    t.after(() => broker.signal("SIGKILL"));
    await waitFor(() => broker.stdout() !== "" || broker.stderr() !== "", "the broker's banner", 30_000);
    assert.match(broker.stdout(), /^berrymq broker: pub tcp:/, broker.stderr());
    broker.signal("SIGTERM");
    assert.equal(await broker.exited, 0, broker.stderr());
  });
});
