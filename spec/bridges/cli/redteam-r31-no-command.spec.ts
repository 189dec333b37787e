// Red team r31: `berrymq` with no command is misuse (exit 2), but printed its usage on stdout, where every
// other misuse prints on stderr: `berrymq $CMD > out.jsonl` with CMD unset wrote the usage into the file.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bounded } from "../../helpers/cli-process.js";

describe("red team r31: berrymq with no command", () => {
  it("prints the usage on stderr and exits 2; --help prints it on stdout and exits 0", async () => {
    const none = await bounded([]);
    assert.equal(none.code, 2);
    assert.equal(none.stdout, "");
    assert.match(none.stderr, /^usage: berrymq <command>/);
    const help = await bounded(["--help"]);
    assert.equal(help.code, 0);
    assert.equal(help.stderr, "");
    assert.equal(help.stdout, none.stderr);
  });
});
