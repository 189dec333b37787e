// Red team r31: serve options a careless operator gives. `--host ""` (`--host "$HOST"` with HOST unset)
// listened on every interface, the banner reading http://:PORT/; `--peer-host` without a secret was taken
// and did nothing (peers beyond this machine are linked only by a server that requires a secret).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bounded, cli } from "../../helpers/cli-process.js";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";

describe("red team r31: berrymq serve options that cannot mean what was asked", () => {
  it('--host "" is refused with exit 2, naming it, before listening anywhere', async () => {
    // Bounded at 20 s: the old serve listened until killed.
    const run = await bounded(["serve", "--host", "", "--port", String(await freePort())], {}, 20_000);
    assert.equal(run.killed, false, `serve listened: ${run.stdout}`);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stderr, 'berrymq serve: invalid --host "": expected an address or host name\n');
    assert.equal(run.stdout, "");
  });

  it("--peer-host without a secret is refused with exit 2, saying it needs one", async () => {
    const run = await bounded(["serve", "--peer-host", "10.0.0.7", "--port", String(await freePort())], {}, 20_000);
    assert.equal(run.killed, false, `serve listened: ${run.stdout}`);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /^berrymq serve: --peer-host needs a secret \(--secret-file FILE or \$BERRYMQ_SECRET\)\n/);
    assert.equal(run.stdout, "");
  });

  it("--peer-host with a secret serves", async (t) => {
    const server = cli(["serve", "--peer-host", "10.0.0.7", "--port", String(await freePort())], { BERRYMQ_SECRET: "s3cret" });
    t.after(() => server.signal("SIGKILL"));
    await waitFor(() => server.stdout().includes("listening on"), `serve to listen (${server.stderr()})`, 15_000);
    server.signal("SIGTERM");
    assert.equal(await server.exited, 0);
  });
});
