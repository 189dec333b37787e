// r31 (found by the process-hang red team): a JSON-RPC call, or `PeerLink.connect`, to a server that takes
// the connection and never answers rejected with a plain `Error` ("no answer within N ms"), unlike every
// other failure of the bridge (a BerryError with a code). It is a NoAnswerError now (`NO_ANSWER`, with the
// url and the timeout), its message unchanged.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { silentServer } from "../../helpers/silent-server.js";
import { NoAnswerError, PeerLink, RpcEndpoint, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/index.js";

describe("red team r31: a JSON-RPC server that never answers", () => {
  it("fails calls and PeerLink.connect with a NoAnswerError naming the url and the timeout", async (t) => {
    const port = await silentServer(t);
    const url = `http://127.0.0.1:${port}/`;

    const endpoint = new RpcEndpoint(url, { timeout: 200 });
    t.after(() => endpoint.close());
    const call = await endpoint.call("berrymq.hello", {}).then(
      () => assert.fail("answered"),
      (error: unknown) => error,
    );
    assert.ok(call instanceof NoAnswerError, `a ${String(call)}`);
    assert.equal(call.code, "NO_ANSWER");
    assert.equal(call.url, url);
    assert.equal(call.timeout, 200);
    assert.match(call.message, /no answer within 200 ms/);

    const bus = new Bus();
    t.after(() => bus.close());
    const server = await serve({ bus });
    t.after(() => server.close());
    const connecting = await PeerLink.connect(url, { bus, server, timeout: 200 }).then(
      async (link) => {
        await link.close();
        assert.fail("connected");
      },
      (error: unknown) => error,
    );
    assert.ok(connecting instanceof NoAnswerError, `a ${String(connecting)}`);
  });
});
