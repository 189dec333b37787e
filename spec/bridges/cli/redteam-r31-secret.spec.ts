// Red team r31: secrets the CLI took and HTTP cannot carry, and a --secret-file that is no secret. A
// secret with a line break made every request fail in Node's HTTP client ("far side unreachable,
// retrying", exit 1); with a trailing space or past ASCII it arrived changed (HTTP 401 for the right
// secret), and serve took either, so no client could ever call it. The wrong --secret-file was read whole
// (/dev/zero: 8 GB and no end). `--secret ""` (`--secret "$TOKEN"`, TOKEN unset) ran serve with no secret.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { bounded } from "../../helpers/cli-process.js";
import { freePort } from "../../helpers/free-port.js";

const UNCARRIED =
  /: the secret from (--secret-file "[^"]+"|--secret|\$BERRYMQ_SECRET) is not printable ASCII without a space at either end\n/;

describe("red team r31: berrymq secrets HTTP cannot carry", () => {
  it("send, get, tail and serve refuse them with exit 2, naming where the secret came from but not the secret", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "berrymq-r31-secret-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const server = await serve({ bus: new Bus() });
    t.after(() => server.close());
    const twoLines = join(dir, "two-lines");
    writeFileSync(twoLines, "first-half\nsecond-half\n", { mode: 0o600 });
    const port = String(await freePort());
    const runs = [
      { args: ["send", server.url, "app:log", "--secret-file", twoLines], env: {} },
      { args: ["get", server.url, "--nowait"], env: { BERRYMQ_SECRET: "trailing-space " } },
      { args: ["tail", server.url, "--secret", "pässwörd"], env: {} },
      // A server no client could call: refused before it listens.
      { args: ["serve", "--port", port, "--secret-file", twoLines], env: {} },
    ];
    for (const { args, env } of runs) {
      const run = await bounded(args, env);
      assert.equal(run.killed, false, `${args.join(" ")} still ran after 45 s`);
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, UNCARRIED);
      assert.doesNotMatch(run.stderr, /first-half|second-half|trailing-space|pässwörd|listening/);
      assert.equal(run.stdout, "");
    }
  });

  it("$BERRYMQ_SECRET ending with a line break (set from a file) is refused saying so", async (t) => {
    const server = await serve({ bus: new Bus() });
    t.after(() => server.close());
    const run = await bounded(["get", server.url, "--nowait"], { BERRYMQ_SECRET: "from-a-file\n" });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /\$BERRYMQ_SECRET .*: it ends with a line break \(set it without one, or use --secret-file\)/);
    assert.doesNotMatch(run.stderr, /from-a-file/);
  });

  it('--secret "" is refused with exit 2 (serve ran with no secret at all)', async () => {
    for (const args of [
      ["serve", "--port", String(await freePort()), "--secret", ""],
      ["send", "http://127.0.0.1:7200/", "app:log", "--secret="],
    ]) {
      const run = await bounded(args, {}, 20_000);
      assert.equal(run.killed, false, `${args[0]} ran on: ${run.stdout}`);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, new RegExp(`^berrymq ${args[0]}: --secret is empty\n`));
      assert.equal(run.stdout, "");
    }
  });

  it("a --secret-file over 4096 bytes is refused with exit 2, read no further", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "berrymq-r31-secret-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const server = await serve({ bus: new Bus() });
    t.after(() => server.close());
    // Stands for /dev/zero, which the old code read without end (not run here: it took 8 GB in 30 s).
    const log = join(dir, "app.log");
    writeFileSync(log, "x".repeat(1 << 20));
    const run = await bounded(["send", server.url, "app:log", "--secret-file", log]);
    assert.equal(run.killed, false, "send still ran after 45 s");
    assert.equal(run.code, 2, run.stderr);
    assert.ok(
      run.stderr.startsWith(`berrymq send: --secret-file ${JSON.stringify(log)} is over 4096 bytes: not a secret`),
      run.stderr,
    );
  });
});
