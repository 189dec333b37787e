// The msgpack codec carries native types; decoded input is validated as strictly as JSON (size, depth,
// prototype keys, foreign types), checked with hostile frames sent on a raw socket.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import Module from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { Packr } from "msgpackr";
import * as zmq from "zeromq";
import { type BerryError, MissingDependencyError } from "../../../lib/errors.js";
import { RpcClient, RpcServer, ZmqProtocolError } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";

const packr = new Packr({ useRecords: true, moreTypes: true, int64AsType: "bigint" });

describe("zeromq RPC: msgpack codec", () => {
  it("round-trips Uint8Array, Buffer, Date, Map, Set and BigInt both ways; JSON stays the default", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), codec: "msgpack" });
    server.register("echo", (value) => value);
    const client = RpcClient.connect({ port: server.port, codec: "msgpack", identity: "native" });
    client.register("echo", (value) => value);
    t.after(() => {
      client.close();
      server.close();
    });
    const value = {
      bytes: new Uint8Array([0, 1, 255]),
      buffer: Buffer.from("hello"),
      when: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)),
      map: new Map<unknown, unknown>([["a", 1], [2, "b"]]),
      set: new Set(["x", 3]),
      big: 2n ** 63n - 1n,
      nested: [{ deep: new Map([["k", new Set([1n])]]) }],
    };
    const back = (await client.call("echo", value)) as typeof value;
    assert.deepEqual(back.bytes, value.bytes);
    assert.ok(back.bytes instanceof Uint8Array);
    assert.equal(Buffer.from(back.buffer).toString(), "hello");
    assert.ok(back.when instanceof Date);
    assert.equal(back.when.getTime(), value.when.getTime());
    assert.ok(back.map instanceof Map);
    assert.deepEqual([...back.map], [["a", 1], [2, "b"]]);
    assert.ok(back.set instanceof Set);
    assert.deepEqual([...back.set], ["x", 3]);
    assert.equal(back.big, 2n ** 63n - 1n);
    assert.deepEqual(back.nested, value.nested);
    await waitFor(() => server.clients.includes("native"), "client known");
    const fromServer = (await server.call("native", "echo", new Map([["m", new Date(0)]]))) as Map<string, Date>;
    assert.equal(fromServer.get("m")?.getTime(), 0);

    // JSON (default) cannot carry a BigInt: refused at the call, naming the codec.
    const jsonServer = await RpcServer.listen({ port: await freePort() });
    const jsonClient = RpcClient.connect({ port: jsonServer.port });
    t.after(() => {
      jsonClient.close();
      jsonServer.close();
    });
    await assert.rejects(jsonClient.call("x", 1n), /json codec/);
  });

  it("refuses hostile msgpack frames: prototype keys, too deep, too big, foreign types", async (t) => {
    const server = await RpcServer.listen({ port: await freePort(), codec: "msgpack", maxMessageBytes: 4_096 });
    let called = 0;
    server.register("echo", (value) => {
      called++;
      return value;
    });
    const errors: BerryError[] = [];
    server.on("error", (error) => void errors.push(error));
    const dealer = new zmq.Dealer({ routingId: "hostile", linger: 0 });
    dealer.connect(`tcp://127.0.0.1:${server.port}`);
    t.after(() => {
      dealer.close();
      server.close();
    });
    const send = async (payload: Buffer): Promise<Record<string, unknown>> => {
      await dealer.send(["rpc", payload]);
      const [, answer] = await dealer.receive();
      return packr.unpack(answer as Buffer) as Record<string, unknown>;
    };
    const request = (params: unknown[]): Buffer => packr.pack({ jsonrpc: "2.0", id: 1, method: "echo", params });

    const ok = await send(request([{ fine: true }]));
    assert.deepEqual(ok.result, { fine: true });
    let deep: unknown = 1;
    for (let i = 0; i < 80; i++) deep = [deep];
    const hostile: [string, Buffer, RegExp][] = [
      ["prototype key in a Map-free object", request([Object.fromEntries([["constructor", { polluted: 1 }]])]), /forbidden key at message\.params\[0\]: "constructor"/],
      ["nested too deep", request([deep]), /nested deeper than 64/],
      ["too big", request(["x".repeat(5_000)]), /over maxMessageBytes 4096/],
      ["a foreign type (an Error object)", request([new Error("boom")]), /is a "Error"/],
      ["a RegExp", request([/x/]), /is a "RegExp"/],
      ["reserved byte 0xc1", Buffer.from([0xc1]), /is a "C1Type"/],
      ["truncated msgpack", Buffer.from([0x92, 0x01]), /not msgpack/],
    ];
    for (const [what, frame, pattern] of hostile) {
      const answer = await send(frame);
      const error = answer.error as { code: number; message: string };
      assert.equal(error.code, -32700, `${what}: a parse error`);
      assert.match(error.message, pattern, what);
    }
    assert.equal(called, 1, "no hostile frame reached the procedure");
    assert.ok(errors.length >= hostile.length && errors.every((e) => e instanceof ZmqProtocolError));
  });

  it("the JSON path refuses prototype keys and depth the same way", async (t) => {
    const server = await RpcServer.listen({ port: await freePort() });
    server.register("echo", (value) => value);
    server.on("error", () => undefined);
    const dealer = new zmq.Dealer({ routingId: "hostile-json", linger: 0 });
    dealer.connect(`tcp://127.0.0.1:${server.port}`);
    t.after(() => {
      dealer.close();
      server.close();
    });
    const send = async (json: string): Promise<{ code: number; message: string }> => {
      await dealer.send(["rpc", json]);
      const [, answer] = await dealer.receive();
      return (JSON.parse(answer?.toString() ?? "") as { error: { code: number; message: string } }).error;
    };
    const proto = await send('{"jsonrpc":"2.0","id":1,"method":"echo","params":[{"__proto__":{"polluted":1}}]}');
    assert.equal(proto.code, -32700);
    assert.match(proto.message, /__proto__/);
    const deep = await send(`{"jsonrpc":"2.0","id":1,"method":"echo","params":${"[".repeat(80)}${"]".repeat(80)}}`);
    assert.equal(deep.code, -32700);
    assert.match(deep.message, /RPC message refused: "invalid envelope: message\.params(\[0\])+/);
  });

  it('without msgpackr, codec "msgpack" fails with MissingDependencyError naming it, as the other optional packages do', async (t) => {
    // msgpackr is installed here (and loaded already): its require is made to resolve it from an empty
    // directory, so that Node itself answers as where it is not installed (MODULE_NOT_FOUND, "Cannot find
    // module 'msgpackr'"). Module._load is where require starts, before its caches.
    const empty = mkdtempSync(join(tmpdir(), "berrymq-no-msgpackr-"));
    const loader = Module as unknown as {
      _load(request: string, parent: unknown, isMain: boolean): unknown;
      _resolveFilename(request: string, parent: unknown, isMain: boolean, options?: object): string;
    };
    const load = loader._load;
    loader._load = function (request, parent, isMain) {
      if (request === "msgpackr") loader._resolveFilename(request, parent, isMain, { paths: [empty] });
      return load.call(this, request, parent, isMain);
    };
    t.after(() => {
      loader._load = load;
      rmSync(empty, { recursive: true, force: true });
    });
    const expected = (error: unknown): boolean => {
      assert.ok(error instanceof MissingDependencyError, String(error));
      assert.equal(error.code, "MISSING_DEPENDENCY");
      assert.equal(error.packageName, "msgpackr");
      assert.equal(
        error.message,
        'the "msgpack" codec of berrymq/zeromq needs the package "msgpackr", which is not installed: run `npm install msgpackr`',
      );
      assert.equal((error.cause as { code?: unknown }).code, "MODULE_NOT_FOUND");
      return true;
    };
    // Closed at once should they open after all (a failure here must not leave the process running).
    const listening = RpcServer.listen({ port: await freePort(), codec: "msgpack" }).then((server) => void server.close());
    await assert.rejects(listening, expected);
    const port = await freePort();
    assert.throws(() => RpcClient.connect({ port, codec: "msgpack" }).close(), expected);
  });
});
