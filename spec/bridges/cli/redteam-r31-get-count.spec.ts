// Red team r31: `berrymq get --count N` when fewer than N come. Its usage said "1 when none came in time",
// and stderr said only "queue ... is empty": a script took exit 1 for "nothing", with messages printed.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { bounded } from "../../helpers/cli-process.js";

describe("red team r31: berrymq get --count N with fewer queued", () => {
  it("prints those that came, says how many of N on stderr, and exits 1", async (t) => {
    const bus = new Bus();
    const server = await serve({ bus, queues: ["task:*"] });
    t.after(() => server.close());
    bus.twitter("task:one");
    bus.twitter("task:two");
    const run = await bounded(["get", server.url, "--count", "3", "--nowait"]);
    assert.equal(run.code, 1, run.stderr);
    assert.deepEqual(
      run.stdout
        .trim()
        .split("\n")
        .map((line) => (JSON.parse(line) as { id: string }).id),
      ["task:one", "task:two"],
    );
    assert.equal(run.stderr, 'berrymq get: queue "task:*" is empty (2 of 3 taken)\n');
    const none = await bounded(["get", server.url, "--nowait"]);
    assert.equal(none.code, 1, none.stderr);
    assert.equal(none.stderr, 'berrymq get: queue "task:*" is empty\n');
    const help = await bounded(["get", "--help"]);
    assert.match(help.stdout, /\nExits 0 after N messages, 1 when fewer came in time/);
  });
});
