// Review of r31's --secret-file bound (4,096 bytes): it counted the file's trailing newline, which the usage
// says is ignored and which files of a secret usually end with: `openssl rand -hex 2048 > FILE` (4,096
// bytes and a newline) was refused, exit 2, though the same secret from $BERRYMQ_SECRET was taken. The
// bound is the secret's now; one byte more is still refused.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { bounded } from "../../helpers/cli-process.js";

describe("red team r31 review: a --secret-file of 4,096 bytes and its newline", () => {
  it("is taken (the secret is 4,096 bytes); a secret of 4,097 is refused", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "berrymq-r31-review-size-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const secret = "a1".repeat(2_048);
    const server = await serve({ bus: new Bus(), secret });
    t.after(() => server.close());
    for (const ending of ["\n", "\r\n"]) {
      const file = join(dir, "secret");
      writeFileSync(file, `${secret}${ending}`, { mode: 0o600 });
      const run = await bounded(["send", server.url, "app:log", "--secret-file", file]);
      assert.equal(run.code, 0, `${JSON.stringify(ending)}: ${run.stderr}`);
    }
    const over = join(dir, "over");
    writeFileSync(over, `${secret}b\n`, { mode: 0o600 });
    const run = await bounded(["send", server.url, "app:log", "--secret-file", over]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /is over 4096 bytes: not a secret/);
  });
});
