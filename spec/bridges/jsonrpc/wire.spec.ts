// The wire forms, spoken by a raw http.request client to a bridge server in a child process: berryMQ 0.3
// (JSON-RPC 1.0) exactly as its Python client sends it, our JSON-RPC 2.0 methods, and every kind of bad input.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import { BridgeErrorCode, PeerLink, serve, UnsendableMessageError } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { type PeerProcess, startPeer } from "./peer-process.js";
import { post } from "./raw-http.js";

type Legacy = { id: unknown; result: unknown; error: { code: number; message: string } | null };
type Rpc = {
  jsonrpc: string;
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: { code?: string } };
};

describe("berryMQ 0.3 wire form (JSON-RPC 1.0) from a raw HTTP client", () => {
  let server: PeerProcess;
  before(async () => {
    server = await startPeer({ busId: "legacy-server", queues: ["task:*"] });
  });
  after(async () => {
    await server.stop();
  });

  it("connect_oneway then send_message reaches the far bus; answers carry id, result and a null error", async () => {
    const connect = await post(server.url, { id: null, method: "connect_oneway", params: [1000] });
    assert.equal(connect.status, 200);
    const answer = connect.body as Legacy;
    assert.deepEqual(Object.keys(answer).sort(), ["error", "id", "result"], "no jsonrpc member");
    assert.equal(answer.id, null);
    assert.equal(answer.error, null);
    assert.equal(typeof answer.result, "string");
    const sent = await post(`${server.url}JSON`, {
      id: 7,
      method: "send_message",
      params: [answer.result, "app:log", ["hello"], { level: 3 }],
    });
    assert.deepEqual(sent.body, { id: 7, result: "ok", error: null });
    await waitFor(() => server.messages("app:log").length === 1, "app:log on the server's bus");
    const [message] = server.messages("app:log");
    assert.deepEqual(message?.args, ["hello"]);
    assert.deepEqual(message?.kwargs, { level: 3 });
  });

  it('answers "invalid token" for an unknown token, and "timeout" once the ttl has passed', async () => {
    const unknown = await post(server.url, { id: null, method: "send_message", params: ["nope", "app:log", [], {}] });
    assert.deepEqual(unknown.body, { id: null, result: "invalid token", error: null });
    const token = ((await post(server.url, { id: null, method: "connect_oneway", params: [1] })).body as Legacy).result;
    await sleep(1_200);
    const late = await post(server.url, { id: null, method: "send_message", params: [token, "app:log", [], {}] });
    assert.deepEqual(late.body, { id: null, result: "timeout", error: null });
  });

  it("connect_via_queue then get returns [identifier, args, kwargs]; get_nowait on an empty queue is an error", async () => {
    const token = ((await post(server.url, { id: null, method: "connect_via_queue", params: ["job:*", 1000] })).body as Legacy)
      .result;
    const pending = post(server.url, { id: 1, method: "get", params: [token, true, 5] });
    await sleep(100);
    server.command({ cmd: "twitter", id: "job:run", args: [1, "two"], kwargs: { three: 3 } });
    assert.deepEqual((await pending).body, { id: 1, result: ["job:run", [1, "two"], { three: 3 }], error: null });
    const empty = (await post(server.url, { id: 2, method: "get_nowait", params: [token] })).body as Legacy;
    assert.equal(empty.result, null);
    assert.equal(empty.error?.code, BridgeErrorCode.QueueEmpty);
    assert.deepEqual((await post(server.url, { id: 3, method: "close_connection", params: [token] })).body, {
      id: 3,
      result: "ok",
      error: null,
    });
    assert.equal(
      ((await post(server.url, { id: 4, method: "get_nowait", params: [token] })).body as Legacy).result,
      "invalid token",
    );
  });

  it("a queue the server owns (serve --queue) keeps what arrived before the client connected", async () => {
    server.command({ cmd: "twitter", id: "task:early", args: ["kept"] });
    await waitFor(() => server.messages("task:early").length === 1, "task:early");
    const token = ((await post(server.url, { id: null, method: "connect_via_queue", params: ["task:*", 1000] })).body as Legacy)
      .result;
    const got = (await post(server.url, { id: null, method: "get", params: [token, false, 0] })).body as Legacy;
    assert.deepEqual(got.result, ["task:early", ["kept"], {}]);
  });

  it("interconnect(addr, token, ttl): the server forwards every message to the 0.3 peer at addr", async () => {
    const received: unknown[] = [];
    const peer: Server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => {
        const call = JSON.parse(body) as { id: unknown; method: string; params: unknown[] };
        received.push(call);
        res.end(JSON.stringify({ id: call.id, result: "ok", error: null }));
      });
    });
    await new Promise<void>((resolve) => peer.listen(0, "127.0.0.1", resolve));
    const port = (peer.address() as { port: number }).port;
    const answer = (await post(server.url, { id: null, method: "interconnect", params: [["127.0.0.1", port], "py-token", 60] }))
      .body as Legacy;
    assert.deepEqual(answer, { id: null, result: "py-token", error: null });
    server.command({ cmd: "twitter", id: "py:hello", args: ["from node"], kwargs: { n: 1 } });
    await waitFor(() => received.length >= 1, "send_message at the 0.3 peer");
    assert.deepEqual(received[0], {
      id: null,
      method: "send_message",
      params: ["py-token", "py:hello", ["from node"], { n: 1 }],
    });
    // What the 0.3 peer sends with its token comes in, and is not sent back to it.
    await post(server.url, { id: null, method: "send_message", params: ["py-token", "py:reply", ["from python"], {}] });
    await waitFor(() => server.messages("py:reply").length === 1, "py:reply on the server");
    await sleep(200);
    assert.equal(received.length, 1, "the peer's own message was not echoed back");
    await post(server.url, { id: null, method: "close_connection", params: ["py-token"] });
    await new Promise<void>((resolve) => peer.close(() => resolve()));
  });
});

describe("JSON-RPC 2.0 methods and bad input", () => {
  let server: PeerProcess;
  let guarded: PeerProcess;
  before(async () => {
    [server, guarded] = await Promise.all([
      startPeer({ busId: "rpc-server" }),
      startPeer({ busId: "guarded", secret: "s3cret" }),
    ]);
  });
  after(async () => {
    await Promise.all([server.stop(), guarded.stop()]);
  });

  const rpc = async (body: unknown): Promise<Rpc> => (await post(server.url, body)).body as Rpc;

  it("berrymq.hello names the bus; a batch of berrymq.twitter calls is answered as an array, in one request", async () => {
    assert.equal(
      ((await rpc({ jsonrpc: "2.0", id: 1, method: "berrymq.hello" })).result as { busId: string }).busId,
      "rpc-server",
    );
    const token = (
      (await rpc({ jsonrpc: "2.0", id: 2, method: "berrymq.connect", params: { style: "oneway" } })).result as { token: string }
    ).token;
    const batch = [1, 2, 3].map((n) => ({
      jsonrpc: "2.0",
      id: n,
      method: "berrymq.twitter",
      params: { token, identifier: "batch:item", args: [n] },
    }));
    const answer = (await post(server.url, batch)).body as Rpc[];
    assert.deepEqual(
      answer.map((r) => r.id),
      [1, 2, 3],
    );
    await waitFor(() => server.messages("batch:item").length === 3, "three batch:item");
    assert.deepEqual(
      server.messages("batch:item").map((m) => m.args?.[0]),
      [1, 2, 3],
    );
  });

  it("answers each bad request with the right code and a message naming the problem", async () => {
    const cases: [unknown, number, RegExp][] = [
      ["{not json", BridgeErrorCode.ParseError, /parse error/],
      [{ jsonrpc: "2.0", id: 1, method: "berrymq.nope" }, BridgeErrorCode.MethodNotFound, /method not found: "berrymq.nope"/],
      [{ jsonrpc: "2.0", id: 1, method: 42 }, BridgeErrorCode.InvalidRequest, /method must be a string/],
      [{ jsonrpc: "1.5", id: 1, method: "berrymq.hello" }, BridgeErrorCode.InvalidRequest, /"2.0"/],
      [[], BridgeErrorCode.InvalidRequest, /empty batch/],
      [
        { jsonrpc: "2.0", id: 1, method: "berrymq.connect", params: { style: "both" } },
        BridgeErrorCode.InvalidParams,
        /style "both"/,
      ],
      [{ jsonrpc: "2.0", id: 1, method: "berrymq.connect", params: "oneway" }, BridgeErrorCode.InvalidRequest, /params must be/],
      [
        { jsonrpc: "2.0", id: 1, method: "berrymq.send", params: { token: "x", envelope: {} } },
        BridgeErrorCode.InvalidToken,
        /invalid token "x"/,
      ],
      [{ jsonrpc: "2.0", id: 1, method: "berrymq.get", params: { token: 5 } }, BridgeErrorCode.InvalidToken, /expected a string/],
      [
        JSON.parse('{"jsonrpc":"2.0","id":1,"method":"berrymq.hello","params":{"__proto__":{"x":1}}}'),
        BridgeErrorCode.InvalidParams,
        /__proto__/,
      ],
    ];
    for (const [body, code, message] of cases) {
      const answer = await rpc(body);
      assert.equal(answer.error?.code, code, `code for ${JSON.stringify(body)}`);
      assert.match(answer.error?.message ?? "", message);
    }
  });

  it("refuses a bad identifier, a bad envelope and __proto__ in kwargs with InvalidParams", async () => {
    const token = (
      (await rpc({ jsonrpc: "2.0", id: 1, method: "berrymq.connect", params: { style: "oneway" } })).result as { token: string }
    ).token;
    const badId = await rpc({ jsonrpc: "2.0", id: 2, method: "berrymq.twitter", params: { token, identifier: "has space:x" } });
    assert.equal(badId.error?.code, BridgeErrorCode.InvalidParams);
    assert.equal(badId.error?.data?.code, "INVALID_IDENTIFIER");
    assert.match(badId.error?.message ?? "", /"has space:x"/);
    const badEnvelope = await rpc({
      jsonrpc: "2.0",
      id: 3,
      method: "berrymq.send",
      params: { token, envelope: { v: 1, id: "a:b", args: "no" } },
    });
    assert.equal(badEnvelope.error?.data?.code, "INVALID_ENVELOPE");
    const proto = await rpc(
      JSON.parse(
        `{"jsonrpc":"2.0","id":4,"method":"berrymq.twitter","params":{"token":"${token}","identifier":"a:b","kwargs":{"__proto__":{"polluted":1}}}}`,
      ),
    );
    assert.equal(proto.error?.code, BridgeErrorCode.InvalidParams);
    assert.match(proto.error?.message ?? "", /__proto__/);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it("answers a notification with 204, a body over 1 MiB with 413, a wrong path with 404, a GET with 405", async () => {
    assert.equal((await post(server.url, { jsonrpc: "2.0", method: "berrymq.hello" })).status, 204);
    const big = await post(server.url, {
      jsonrpc: "2.0",
      id: 1,
      method: "berrymq.hello",
      params: { pad: "x".repeat(1024 * 1024 + 10) },
    });
    assert.equal(big.status, 413);
    assert.equal((big.body as Rpc).error?.code, BridgeErrorCode.PayloadTooLarge);
    assert.equal((await post(`${server.url}other`, {})).status, 404);
    assert.equal((await post(server.url, "", {}, "GET")).status, 405);
    assert.equal(
      ((await rpc({ jsonrpc: "2.0", id: 1, method: "berrymq.hello" })).result as { busId: string }).busId,
      "rpc-server",
      "still serving",
    );
  });

  it("with a shared secret, refuses a missing or wrong Authorization header with 401", async () => {
    const hello = { jsonrpc: "2.0", id: 1, method: "berrymq.hello" };
    const missing = await post(guarded.url, hello);
    assert.equal(missing.status, 401);
    assert.equal((missing.body as Rpc).error?.code, BridgeErrorCode.Unauthorized);
    assert.equal((await post(guarded.url, hello, { authorization: "Bearer wrong" })).status, 401);
    const ok = await post(guarded.url, hello, { authorization: "Bearer s3cret" });
    assert.equal(ok.status, 200);
    assert.equal(((ok.body as Rpc).result as { busId: string }).busId, "guarded");
  });
});

describe("keys and numbers on every wire form", () => {
  let server: PeerProcess;
  before(async () => {
    server = await startPeer({ busId: "keys-numbers" });
  });
  after(async () => {
    await server.stop();
  });

  it("carries constructor and prototype keys as ordinary data; refuses __proto__ and constructor.prototype", async () => {
    const token = ((await post(server.url, { id: null, method: "connect_oneway", params: [60] })).body as Legacy).result as string;
    const data = '{"constructor": "Foo", "prototype": {"x": 1}, "deep": [{"constructor": {"name": "Bar"}}]}';
    const bodies = [
      `{"id": 1, "method": "send_message", "params": ["${token}", "keys:legacy", [${data}], ${data}]}`,
      `{"jsonrpc": "2.0", "id": 2, "method": "berrymq.twitter", "params": {"token": "${token}", "identifier": "keys:twitter", "args": [${data}], "kwargs": ${data}}}`,
      `{"jsonrpc": "2.0", "id": 3, "method": "berrymq.send", "params": {"token": "${token}", "envelope": {"v": 1, "id": "keys:send", "args": [${data}], "kwargs": ${data}, "messageId": "k/1", "timestamp": 1, "hops": ["k"]}}}`,
    ];
    for (const body of bodies) {
      const answer = await post(server.url, body);
      const error = (answer.body as { error?: unknown }).error;
      assert.ok(error === null || error === undefined, `${body.slice(0, 60)}: ${answer.text}`);
    }
    for (const id of ["keys:legacy", "keys:twitter", "keys:send"]) {
      await waitFor(() => server.messages(id).length === 1, id);
      assert.deepEqual(server.messages(id)[0]?.kwargs, JSON.parse(data));
      assert.deepEqual(server.messages(id)[0]?.args, [JSON.parse(data)]);
    }
    for (const bad of ['{"__proto__": {"polluted": 1}}', '{"constructor": {"prototype": {"polluted": 1}}}']) {
      const legacy = await post(server.url, `{"id": 1, "method": "send_message", "params": ["${token}", "keys:bad", [], ${bad}]}`);
      assert.equal((legacy.body as Legacy).error?.code, BridgeErrorCode.InvalidParams, legacy.text);
      const rpc = await post(server.url, `{"jsonrpc": "2.0", "id": 1, "method": "berrymq.twitter", "params": {"token": "${token}", "identifier": "keys:bad", "kwargs": ${bad}}}`);
      assert.equal((rpc.body as Rpc).error?.code, BridgeErrorCode.InvalidParams, rpc.text);
    }
    assert.equal(server.messages("keys:bad").length, 0);
  });

  it("never changes a number: NaN, Infinity, overflowing literals and integers beyond 2^53 are refused, naming them", async () => {
    const token = ((await post(server.url, { id: null, method: "connect_oneway", params: [60] })).body as Legacy).result as string;
    const cases: [string, number, RegExp][] = [
      [`{"id": 1, "method": "send_message", "params": ["${token}", "n:a", [NaN], {}]}`, BridgeErrorCode.ParseError, /NaN is not a JSON number/],
      [`{"id": 1, "method": "send_message", "params": ["${token}", "n:a", [-Infinity], {}]}`, BridgeErrorCode.ParseError, /-Infinity is not a JSON number/],
      [`{"id": 1, "method": "send_message", "params": ["${token}", "n:a", [1e400], {}]}`, BridgeErrorCode.InexactNumber, /1e400.*Infinity/],
      [`{"id": 1, "method": "send_message", "params": ["${token}", "n:a", [], {"id": 12345678901234567891}]}`, BridgeErrorCode.InexactNumber, /12345678901234567891.*2\^53/],
      [`{"jsonrpc": "2.0", "id": 1, "method": "berrymq.twitter", "params": {"token": "${token}", "identifier": "n:a", "args": [-9007199254740993]}}`, BridgeErrorCode.InexactNumber, /-9007199254740993/],
    ];
    for (const [body, code, message] of cases) {
      const answer = await post(server.url, body);
      const error = (answer.body as { error?: { code: number; message: string } | null }).error;
      assert.equal(error?.code, code, answer.text);
      assert.match(error?.message ?? "", message);
    }
    // Exactly representable ones, and digits inside strings, pass unchanged.
    const ok = await post(server.url, `{"id": 1, "method": "send_message", "params": ["${token}", "n:ok", [9007199254740992, "12345678901234567891", 1e300, 0.1], {}]}`);
    assert.equal((ok.body as Legacy).result, "ok", ok.text);
    await waitFor(() => server.messages("n:ok").length === 1, "n:ok");
    assert.deepEqual(server.messages("n:ok")[0]?.args, [9_007_199_254_740_992, "12345678901234567891", 1e300, 0.1]);
    assert.equal(server.messages("n:a").length, 0);
  });
});

describe("outgoing numbers", () => {
  it("a PeerLink reports a message holding NaN or Infinity instead of sending it changed (as null)", async () => {
    const far = await startPeer({ busId: "far-numbers" });
    const bus = new Bus({ id: "near-numbers" });
    const server = await serve({ bus });
    const link = await PeerLink.connect(far.url, { bus, server });
    const errors: unknown[] = [];
    link.on("error", (error) => void errors.push(error));
    try {
      bus.twitter("out:nan", Number.NaN);
      bus.twitter("out:inf", { x: Number.POSITIVE_INFINITY });
      bus.twitter("out:ok", 1);
      await waitFor(() => far.messages("out:ok").length === 1, "out:ok at the far side");
      assert.equal(far.messages("out:nan").length + far.messages("out:inf").length, 0);
      assert.equal(errors.filter((e) => e instanceof UnsendableMessageError).length, 2);
      assert.equal(link.stats.dropped, 2);
    } finally {
      await link.close();
      await server.close();
      await far.stop();
    }
  });
});
