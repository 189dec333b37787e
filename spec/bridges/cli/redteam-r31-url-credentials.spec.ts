// r31 (found by the CLI red team, not fixed there): a server URL holding a user name and password
// (`http://user:pass@host:port/`, which Node's http sends as Basic auth) was printed whole: by `tail` on
// stderr, and in every JSON-RPC error naming its endpoint (logs keep both). They name it as
// `http://***@host:port/` now.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { silentServer } from "../../helpers/silent-server.js";
import { RpcEndpoint, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/index.js";
import { cli } from "../../helpers/cli-process.js";
import { waitFor } from "../../helpers/wait-for.js";

describe("red team r31: a server URL with credentials", () => {
  it("berrymq tail names it without them", async (t) => {
    const bus = new Bus();
    const server = await serve({ bus });
    t.after(async () => {
      await server.close();
      bus.close();
    });
    const tail = cli(["tail", `http://reader:hunter2@127.0.0.1:${server.port}/`, "app:*"]);
    t.after(() => tail.signal("SIGKILL"));
    await waitFor(() => tail.stderr().includes("following"), `tail's banner (${tail.stderr()})`, 15_000);
    assert.doesNotMatch(tail.stderr(), /hunter2/);
    assert.match(tail.stderr(), /http:\/\/\*\*\*@127\.0\.0\.1:/);
    tail.signal("SIGINT");
    assert.equal(await tail.exited, 0);
  });

  it("a JSON-RPC error names the endpoint without them", async (t) => {
    const port = await silentServer(t);
    const endpoint = new RpcEndpoint(`http://reader:hunter2@127.0.0.1:${port}/`, { timeout: 100 });
    t.after(() => endpoint.close());
    const error = await endpoint.call("berrymq.hello", {}).then(
      () => assert.fail("answered"),
      (failure: unknown) => failure as Error,
    );
    assert.doesNotMatch(error.message, /hunter2/);
    assert.match(error.message, /http:\/\/\*\*\*@127\.0\.0\.1:\d+\/: no answer within 100 ms/);
  });
});
