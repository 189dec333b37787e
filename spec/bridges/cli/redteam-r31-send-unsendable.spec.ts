// Red team r31: `berrymq send` of a message the link cannot carry (a number JSON has not, arguments nested
// deeper than the envelope takes). The refusal came inside bus.twitter(), before send listened for it: it
// printed `berrymq send: "not delivered to URL"` (quoted) and the reason as a Node warning, exit 1.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { bounded } from "../../helpers/cli-process.js";

describe("red team r31: berrymq send of a message that cannot be sent", () => {
  it("says why, naming the value, and exits 2 (misuse) with no Node warning; the server gets nothing", async (t) => {
    const bus = new Bus();
    const seen: string[] = [];
    bus.on("message", (message) => void seen.push(message.id));
    const server = await serve({ bus });
    t.after(() => server.close());
    const deep = `${"[".repeat(100)}${"]".repeat(100)}`;
    for (const [args, reason] of [
      ["[1e400]", /args\[0\] Infinity: expected a finite number/],
      [deep, /nested too deep\)": expected at most \d+ levels/],
    ] as const) {
      const run = await bounded(["send", server.url, "app:log", args]);
      assert.equal(run.killed, false, "send still ran after 45 s");
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /^berrymq send: link SendOnlyClient: "app:log" \(\S+\) not sent: invalid envelope: /);
      assert.match(run.stderr, reason);
      assert.doesNotMatch(run.stderr, /\(node:\d+\)|UNSENDABLE|not delivered to/);
    }
    assert.deepEqual(seen, []);
  });
});
