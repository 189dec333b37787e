// Red team r30: a long-poll `get` (no timeout) pipelined behind another request on one connection, whose
// client then hangs up. Node 20 emits no 'close' for an answer still queued behind another when its
// connection dies, and that 'close' was what ended a waiting get: the get waited for good, holding one of
// maxWaitingGetsPerSession and of maxWaitingGets and keeping its token from expiring. A few such
// connections locked every client's long-polls out (−32010) until the server restarted. The connection's
// 'close' now ends every request it carried.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { BridgeErrorCode, type BridgeServer, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { post } from "./raw-http.js";

describe("red team r30: a pipelined long-poll whose client hung up is ended", () => {
  const bus = new Bus();
  let server: BridgeServer;
  before(async () => {
    server = await serve({ bus, maxWaitingGetsPerSession: 1, maxWaitingGets: 2 });
  });
  after(() => server.close());

  const queueToken = async (): Promise<string> => {
    const opened = await post(server.url, {
      jsonrpc: "2.0",
      id: 1,
      method: "berrymq.connect",
      params: { style: "queue", filter: "w:*" },
    });
    return (opened.body as { result: { token: string } }).result.token;
  };
  const get = async (token: string): Promise<number | undefined> => {
    const answer = await post(server.url, { jsonrpc: "2.0", id: 2, method: "berrymq.get", params: { token, timeout: 10 } });
    return (answer.body as { error?: { code: number } }).error?.code;
  };

  it("frees its waiting-get slots once the connection closes: later gets wait and time out, not −32010", async () => {
    const first = await queueToken();
    const second = await queueToken();
    const request = (token: string): string => {
      const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "berrymq.get", params: { token } });
      return `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    };
    const socket = connect(server.port, "127.0.0.1");
    socket.on("error", () => {});
    await new Promise<void>((resolve) => socket.once("connect", resolve));
    socket.write(request(first) + request(second));
    // Both gets wait: every waiting-get slot of the server is taken.
    for (let waited = 0; (await get(await queueToken())) !== BridgeErrorCode.LimitExceeded; waited++) {
      assert.ok(waited < 100, "the pipelined gets to wait");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const closed = new Promise((resolve) => socket.once("close", resolve));
    socket.destroy();
    await closed;
    let code: number | undefined;
    for (const deadline = Date.now() + 3_000; code !== BridgeErrorCode.QueueTimeout && Date.now() < deadline; ) {
      code = await get(second);
    }
    assert.equal(code, BridgeErrorCode.QueueTimeout, "a get on the second token waits again");
    assert.equal(await get(first), BridgeErrorCode.QueueTimeout);
  });
});
