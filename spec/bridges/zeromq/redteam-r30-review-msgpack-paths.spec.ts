// Red team r30 review: r30 showed a Map key in a refusal's path shortened (64 characters), but not an object
// key: a peer's frame holding { "k" × 900,000: <an Error> } was refused with a message of ~900 KB, sent back
// to it and reported on the server's `error` event (logged by most applications) for every such frame.
// Object keys are now shortened as Map keys are.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Packr } from "msgpackr";
import * as zmq from "zeromq";
import { RpcServer } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";

const packr = new Packr({ useRecords: true, moreTypes: true, int64AsType: "bigint" });

describe("zeromq RPC red team r30 review: msgpack refusal paths", () => {
  it("a refused value under a huge object key is named with the key shortened", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), codec: "msgpack" });
    const reported: string[] = [];
    server.on("error", (error) => reported.push(error.message));
    const dealer = new zmq.Dealer({ routingId: "long-keys", linger: 0 });
    dealer.connect(`tcp://127.0.0.1:${server.port}`);
    t.after(() => {
      dealer.close();
      server.close();
    });
    const key = "k".repeat(900_000);
    await dealer.send(["rpc", packr.pack({ jsonrpc: "2.0", id: 1, method: "nothing", params: [{ [key]: new Error("x") }] })]);
    const [, answer] = await dealer.receive();
    const error = (packr.unpack(answer as Buffer) as { error: { code: number; message: string } }).error;
    assert.equal(error.code, -32700);
    assert.ok(error.message.length < 1_000, `a refusal of ${error.message.length} characters`);
    assert.match(error.message, /message\.params\[0\]\.k{64}… is a/);
    for (const message of reported) assert.ok(message.length < 1_000, `a report of ${message.length} characters`);
  });
});
