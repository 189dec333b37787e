// r31 (found by the CLI red team, not fixed there): `berrymq serve` printed every error of its bus on
// stderr, one line each: a client flooding a full owned queue (1,000 messages by default) made one line per
// dropped message, and on a slow stderr pipe each synchronous write held the server. At most 10 a second
// now, the rest counted and said once a second.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SendOnlyClient } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/index.js";
import { cli } from "../../helpers/cli-process.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

describe("red team r31: berrymq serve under a flood of bus errors", () => {
  it("prints at most 10 a second and counts the rest", { timeout: 60_000 }, async (t) => {
    const port = await freePort();
    const server = cli(["serve", "--port", String(port), "--queue", "app:*"]);
    t.after(() => server.signal("SIGKILL"));
    await waitFor(() => server.stdout().includes("listening on"), `serve to listen (${server.stderr()})`, 15_000);
    const bus = new Bus();
    const client = new SendOnlyClient(`http://127.0.0.1:${port}/`, { bus, exportFilters: ["app:*"] });
    t.after(async () => {
      await client.close();
      bus.close();
    });
    for (let i = 0; i < 3_000; i++) bus.twitter("app:flood", i); // 2,000 past the queue's 1,000
    await waitFor(
      () => /more errors not shown/.test(server.stderr()),
      `the count of what was not shown (${server.stderr().slice(0, 500)})`,
      15_000,
    );
    await sleep(1_200); // the last count
    const lines = server
      .stderr()
      .split("\n")
      .filter((line) => line.startsWith("[bus]"));
    const shown = lines.filter((line) => !line.includes("more errors not shown"));
    const counted = lines.reduce((sum, line) => sum + Number(/(\d+) more errors not shown/.exec(line)?.[1] ?? 0), 0);
    assert.ok(shown.length <= 30, `${shown.length} error lines printed`);
    assert.equal(shown.length + counted, 2_000, `${shown.length} shown + ${counted} counted`);
  });
});
