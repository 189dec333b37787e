// Red team r21, RPC: a raw DEALER speaking the wire format wrongly. These held before this round; the spec
// keeps them held: no crash, a typed report, and no answer reaches a call it does not belong to.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import type { BerryError } from "../../../lib/errors.js";
import { RpcClient, RpcServer, ZmqProtocolError } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";

describe("zeromq RPC red team r21: malformed frames from a raw peer", () => {
  it("wrong frame counts, unknown kinds, non-object messages and stray answers are refused; the server keeps serving", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), callTimeout: 2_000 });
    server.register("ping", () => "pong");
    const errors: BerryError[] = [];
    server.on("error", (error) => void errors.push(error));
    const raw = new zmq.Dealer({ routingId: "raw", linger: 0, receiveTimeout: 2_000 });
    raw.connect(`tcp://127.0.0.1:${server.port}`);
    const victim = RpcClient.connect({ port: server.port, identity: "victim", callTimeout: 2_000 });
    victim.register("slow", () => new Promise((resolve) => setTimeout(() => resolve("victim's own answer"), 300)));
    t.after(() => {
      victim.close();
      raw.close();
      server.close();
    });
    await waitFor(() => server.clients.includes("victim"), "victim connected");
    // The server calls the victim; the raw peer answers that call id first (ids are sequential from 1).
    const call = server.call("victim", "slow");
    for (let id = 1; id <= 3; id++) await raw.send(["rpc", JSON.stringify({ jsonrpc: "2.0", id, result: "forged" })]);
    assert.equal(await call, "victim's own answer", "an answer from another peer does not settle the call");
    const malformed: (string | Buffer)[][] = [
      [""],
      ["rpc"],
      ["nonsense", "x"],
      ["rpc", ""],
      ["rpc", "null"],
      ["rpc", "[1,2]"],
      ["rpc", '"text"'],
      ["rpc", '{"jsonrpc":"2.0","id":99,"result":"nobody asked"}'],
      ["rpc", '{"jsonrpc":"2.0","id":99,"result":"nobody asked"}'],
      ["rpc", '{"jsonrpc":"2.0","id":{"x":1},"method":"ping","params":[]}'],
      ["rpc", '{"jsonrpc":"2.0","id":1,"method":"ping","params":{}}'],
      ["rpc", '{"jsonrpc":"2.0","id":1,"method":"ping","params":[]}', "extra", "frames"],
      ["hb", "with", "a", "body"],
      [Buffer.alloc(0), Buffer.alloc(0), Buffer.alloc(0)],
    ];
    for (const frames of malformed) await raw.send(frames);
    await sleep(300);
    assert.ok(errors.length > 0 && errors.every((error) => error instanceof ZmqProtocolError), errors.map(String).join("\n"));
    assert.equal(await victim.call("ping"), "pong", "the server still serves");
  });
});
