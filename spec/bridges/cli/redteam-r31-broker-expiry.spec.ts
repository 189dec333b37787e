// Red team r31: `berrymq broker --expiry` over --max-expiry. The broker cuts its default expiry to maxExpiry
// as it cuts a message's (a broker started with expiry 60 s and maxExpiry 300 ms made a dead letter of a
// message after 312 ms), so `--expiry Infinity` alone, "never" by the usage, was 24 h, unsaid.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bounded, cli } from "../../helpers/cli-process.js";
import { waitFor } from "../../helpers/wait-for.js";

const PORTS = ["--pub-port", "0", "--recv-port", "0"];

describe("red team r31: berrymq broker --expiry over --max-expiry", () => {
  it("is refused with exit 2, naming both, before the broker starts", async () => {
    for (const [args, max] of [
      [["--expiry", "Infinity"], "86400000 \\(its default\\): give --max-expiry too"],
      [["--expiry", "90000000", "--max-expiry", "3600000"], "3600000"],
    ] as const) {
      // Bounded at 20 s: the old broker ran until killed.
      const run = await bounded(["broker", ...PORTS, ...args], {}, 20_000);
      assert.equal(run.killed, false, `the broker ran: ${run.stdout}`);
      assert.equal(run.code, 2, run.stderr);
      assert.match(
        run.stderr,
        new RegExp(`^berrymq broker: invalid --expiry "${args[1]}": expected at most --max-expiry, ${max}\\n`),
      );
      assert.equal(run.stdout, "");
    }
  });

  it("--expiry Infinity with --max-expiry Infinity runs (never, as asked)", async (t) => {
    const broker = cli(["broker", ...PORTS, "--expiry", "Infinity", "--max-expiry", "Infinity"]);
    t.after(() => broker.signal("SIGKILL"));
    await waitFor(
      () => broker.stdout().includes("berrymq broker: pub tcp://"),
      `the broker to start (${broker.stderr()})`,
      15_000,
    );
    broker.signal("SIGTERM");
    assert.equal(await broker.exited, 0, broker.stderr());
  });
});
