// Review of r31's secret check: a tab inside a secret is what an HTTP header carries unchanged (RFC 9110
// field-content; Node's client sends it, its server reads it back as sent), so a server with that secret is
// callable, but r31 refused such a secret in every command (exit 2, "not printable ASCII"). A tab at either
// end is trimmed on the way, as a space is: still refused.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { bounded, cli } from "../../helpers/cli-process.js";
import { waitFor } from "../../helpers/wait-for.js";

describe("red team r31 review: a secret with a tab inside", () => {
  it("serve takes it from --secret-file, send from $BERRYMQ_SECRET, and the message is delivered", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "berrymq-r31-review-tab-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "secret");
    writeFileSync(file, "two\twords\n", { mode: 0o600 });
    const server = cli(["serve", "--port", "0", "--secret-file", file]);
    t.after(() => server.signal("SIGKILL"));
    await waitFor(() => /listening on/.test(server.stdout()) || server.stderr() !== "", "serve's banner", 30_000);
    assert.match(server.stdout(), /listening on/, server.stderr());
    const url = /http:\/\/\S+\//.exec(server.stdout())?.[0] as string;
    const sent = await bounded(["send", url, "app:log"], { BERRYMQ_SECRET: "two\twords" });
    assert.equal(sent.code, 0, sent.stderr);
  });

  it("a tab at either end is still refused, exit 2", async () => {
    const run = await bounded(["send", "http://127.0.0.1:7200/", "app:log"], { BERRYMQ_SECRET: "two words\t" });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /the secret from \$BERRYMQ_SECRET is not printable ASCII/);
  });
});
