// Review of r31's `get --count N` count: "(2 of 3 taken)" was said only when the queue was empty or the wait
// timed out. When the server closed the queue (or went away) after some came, stderr said only `queue ...
// is closed`, exit 1: the script r31 had in mind read that as "none came", with a message printed.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { cli } from "../../helpers/cli-process.js";
import { settlesWithin, waitFor } from "../../helpers/wait-for.js";

describe("red team r31 review: get --count N ended by the server after some came", () => {
  it("says how many of N it took, exit 1", async (t) => {
    const bus = new Bus();
    const server = await serve({ bus, queues: ["task:*"] });
    t.after(() => server.close());
    bus.twitter("task:one");
    const get = cli(["get", server.url, "--count", "2", "--timeout", "20000"]);
    t.after(() => get.signal("SIGKILL"));
    await waitFor(() => get.stdout() !== "", "get's first message", 30_000);
    await server.close();
    assert.ok(await settlesWithin(get.exited, 30_000), "get still runs 30 s after the server closed");
    assert.equal(await get.exited, 1, get.stderr());
    assert.equal((JSON.parse(get.stdout()) as { id: string }).id, "task:one");
    assert.match(get.stderr(), /^berrymq get: .* \(1 of 2 taken\)\n$/);
  });
});
