// r31 (found by the process-hang red team, not fixed there): `berrymq get URL --timeout 1000` (or
// `--nowait`) against a server that takes the connection and answers nothing (a paused process, a wedged
// proxy) ran for the endpoint's default 30 s before failing: its connect call was not bounded by what the
// user asked. Calls other than the wait itself now give up 5 s past the wait (`--nowait`: 5 s).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { silentServer } from "../../helpers/silent-server.js";
import { cli } from "../../helpers/cli-process.js";

describe("red team r31: berrymq get against a server that never answers", () => {
  for (const wait of [["--timeout", "500"], ["--nowait"]]) {
    it(`get ${wait.join(" ")} fails within seconds, exit 1, not after 30 s`, { timeout: 40_000 }, async (t) => {
      const port = await silentServer(t);
      const started = performance.now();
      const get = cli(["get", `http://127.0.0.1:${port}/`, ...wait]);
      t.after(() => get.signal("SIGKILL"));
      assert.equal(await get.exited, 1);
      const took = performance.now() - started;
      // 5.5 s (or 5 s) of call timeout and the CLI's start; before: 30 s.
      assert.ok(took < 15_000, `took ${Math.round(took)} ms`);
      assert.match(get.stderr(), /no answer within/);
    });
  }
});
