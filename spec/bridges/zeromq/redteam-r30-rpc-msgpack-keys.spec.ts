// r30 red team, RPC msgpack codec: the check of decoded values wrote the path of every value it walked,
// refused or not, and a Map key's part of it with String(key). A peer's request holding a Map whose key is
// a BigInt of ~1 MB (one frame, under maxMessageBytes; msgpackr decodes it in ~15 ms) cost the server
// ~0.5 s of CPU for a decimal string nobody read: a few such frames a second took a core, before any
// authentication of the call (a raw DEALER is enough). Now a path is written only for a refused value, and a
// Map key in it is shown at a bounded cost.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Packr } from "msgpackr";
import * as zmq from "zeromq";
import { RpcServer } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";

const packr = new Packr({ useRecords: true, moreTypes: true, int64AsType: "bigint" });

describe("zeromq RPC red team r30: msgpack Map keys", () => {
  it("a Map with a huge BigInt key costs the server no more than decoding it", { timeout: 30_000 }, async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), codec: "msgpack" });
    server.on("error", () => undefined);
    const dealer = new zmq.Dealer({ routingId: "big-keys", linger: 0 });
    dealer.connect(`tcp://127.0.0.1:${server.port}`);
    t.after(() => {
      dealer.close();
      server.close();
    });
    const key = BigInt(`0x${"7f".repeat(1_000_000)}`);
    const frame = packr.pack({ jsonrpc: "2.0", id: 1, method: "nothing", params: [new Map([[key, 1]])] });
    assert.ok(frame.length < 1_048_576, "one frame under the default maxMessageBytes");
    const frames = 4;
    const before = process.cpuUsage();
    for (let i = 0; i < frames; i++) {
      await dealer.send(["rpc", frame]);
      const [, answer] = await dealer.receive();
      const error = (packr.unpack(answer as Buffer) as { error: { code: number } }).error;
      assert.equal(error.code, -32601, "decoded and answered: no such procedure");
    }
    const { user, system } = process.cpuUsage(before);
    const perFrame = (user + system) / 1_000 / frames;
    // Packing and decoding take ~15-30 ms a frame; the description of the key alone took ~500 ms.
    assert.ok(perFrame < 200, `${perFrame.toFixed(0)} ms of CPU per frame`);
  });

  it("a refused value is still named by its path, a Map key shortened", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), codec: "msgpack" });
    server.on("error", () => undefined);
    const dealer = new zmq.Dealer({ routingId: "paths", linger: 0 });
    dealer.connect(`tcp://127.0.0.1:${server.port}`);
    t.after(() => {
      dealer.close();
      server.close();
    });
    const refused: [unknown[], RegExp][] = [
      [[1, new Map([["k".repeat(100), [new Error("x")]]])], /message\.params\[1\]\.get\(k{64}…\)\[0\] is a/],
      [[{ a: { b: [1, 2, { constructor: 1 }] } }], /forbidden key at message\.params\[0\]\.a\.b\[2\]:/],
      [
        [
          new Set([
            new Map<unknown, number>([
              [5n, 1],
              [/x/, 2],
            ]),
          ]),
        ],
        /message\.params\[0\]<item><key> is a/,
      ],
    ];
    for (const [params, pattern] of refused) {
      await dealer.send(["rpc", packr.pack({ jsonrpc: "2.0", id: 1, method: "nothing", params })]);
      const [, answer] = await dealer.receive();
      const error = (packr.unpack(answer as Buffer) as { error: { code: number; message: string } }).error;
      assert.equal(error.code, -32700);
      assert.match(error.message, pattern);
    }
  });
});
