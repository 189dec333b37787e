// `berrymq serve --peer` linked to a peer that is paused (SIGSTOP) with a message in flight: on SIGTERM it
// reports the message undelivered and exits within its close deadline, not when a POST of that message,
// started after the report, times out (30 s).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cli, finished } from "../../helpers/cli-process.js";
import { freePort } from "../../helpers/free-port.js";
import { settlesWithin, sleep, waitFor } from "../../helpers/wait-for.js";

describe("berrymq serve --peer to a paused peer", () => {
  it("exits promptly on SIGTERM, reporting what it could not deliver", async () => {
    const farPort = await freePort();
    const farUrl = `http://127.0.0.1:${farPort}/`;
    const far = cli(["serve", "--port", String(farPort), "--verbose"]);
    await waitFor(() => far.stdout().includes("listening on"), `the far serve to listen (${far.stderr()})`, 15_000);
    const nearPort = await freePort();
    const nearUrl = `http://127.0.0.1:${nearPort}/`;
    const near = cli(["serve", "--port", String(nearPort), "--peer", farUrl]);
    try {
      await waitFor(() => near.stdout().includes("listening on"), `the near serve to listen (${near.stderr()})`, 15_000);
      // The link asks for its stream right after the handshake.
      await sleep(500);
      far.signal("SIGSTOP");
      assert.equal((await finished(["send", nearUrl, "app:stuck", "[1]"])).code, 0);
      await sleep(1_000);
      near.signal("SIGTERM");
      const exitedInTime = await settlesWithin(near.exited, 8_000);
      assert.ok(exitedInTime, `serve --peer still runs 8 s after SIGTERM; stderr: ${near.stderr()}`);
      assert.equal(await near.exited, 0, near.stderr());
      assert.match(near.stderr(), /closed with 1 message\(s\) not delivered/);
    } finally {
      near.signal("SIGKILL");
      far.signal("SIGCONT");
      far.signal("SIGTERM");
      await far.exited;
    }
  });
});
