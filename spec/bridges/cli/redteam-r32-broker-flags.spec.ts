// Red team r32: `berrymq broker` refused a bad value naming the library's option (`invalid pubPort "0x10"`,
// `invalid maxUnacked 0`), which no flag of the CLI is called: the operator had to guess `--pub-port`. The
// CLI's messages now name the flag, for values it parses and for those the broker refuses.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bounded } from "../../helpers/cli-process.js";

describe("red team r32: berrymq broker names its flags when it refuses a value", () => {
  it("names the flag, never the library's option, and exits 2", { timeout: 25_000 }, async () => {
    const cases = [
      // Parsed by the CLI.
      [["--pub-port", "0x10"], '--pub-port "0x10"', "pubPort"],
      [["--recv-port", " "], '--recv-port " "', "recvPort"],
      [["--max-unacked-bytes-per-client=1.5"], '--max-unacked-bytes-per-client "1.5"', "maxUnackedBytesPerClient"],
      [["--expiry", "soon"], '--expiry "soon"', "expiry"],
      // Refused by the broker.
      [["--pub-port", "70000"], "--pub-port 70000", "pubPort"],
      [["--max-unacked", "0"], "--max-unacked 0", "maxUnacked"],
      [["--resend-interval", "0"], "--resend-interval 0", "resendInterval"],
      [["--max-message-bytes", "0"], "--max-message-bytes 0", "maxMessageBytes"],
      [["--no-subscriber", "drop"], '--no-subscriber "drop"', "noSubscriber"],
      [["--fsync", "always"], '--fsync "always"', "fsync"],
    ] as const;
    // At once: each is a process that starts, refuses and exits (the last value of a flag wins).
    const runs = await Promise.all(cases.map(([args]) => bounded(["broker", "--pub-port", "0", "--recv-port", "0", ...args])));
    for (const [at, [args, named, option]] of cases.entries()) {
      const run = runs[at] ?? assert.fail("no run");
      assert.equal(run.code, 2, `broker ${args.join(" ")}: ${run.stdout}${run.stderr}`);
      assert.ok(run.stderr.includes(`invalid ${named}`), `broker ${args.join(" ")}: ${run.stderr}`);
      assert.ok(!run.stderr.includes(`invalid ${option} `) && !run.stderr.includes(`.${option} `), `names ${option}: ${run.stderr}`);
    }
  });
});
