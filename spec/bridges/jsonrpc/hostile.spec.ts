// The bridge server as a boundary: hostile bodies that once killed it, what a web page in a browser can
// send, SSRF through interconnect, and every bound (sessions, queues, identifiers, batches, connections).
// Servers run in child processes; clients are raw node:http / node:net.
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { BridgeErrorCode, PeerLink, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { type PeerProcess, startPeer } from "./peer-process.js";
import { post } from "./raw-http.js";

type Legacy = { id: unknown; result: unknown; error: { code: number; message: string } | null };
type Rpc = { jsonrpc?: string; id: unknown; result?: unknown; error?: { code: number; message: string } };

const nested = (depth: number, inner = ""): string => `${"[".repeat(depth)}${inner}${"]".repeat(depth)}`;

async function oneway(url: string, ttl: unknown = 1000): Promise<string> {
  return ((await post(url, { id: null, method: "connect_oneway", params: [ttl] })).body as Legacy).result as string;
}

describe("never crash", () => {
  let server: PeerProcess;
  before(async () => {
    server = await startPeer({ busId: "hostile" });
  });
  after(async () => {
    await server.stop();
  });

  it("answers 5,000 nested [ in every place that was stringified or echoed, and keeps serving", async () => {
    const deep = nested(5_000);
    const token = await oneway(server.url);
    const cases: [string, (answer: unknown) => void][] = [
      [deep, (a) => assert.equal((a as Rpc[])[0]?.error?.code, BridgeErrorCode.InvalidRequest)],
      [`[${deep}]`, (a) => assert.equal((a as Rpc[])[0]?.error?.code, BridgeErrorCode.InvalidRequest)],
      [`[{"jsonrpc": ${deep}, "id": 1, "method": "x"}]`, (a) => assert.equal((a as Rpc[])[0]?.error?.code, BridgeErrorCode.InvalidRequest)],
      [`{"jsonrpc": "2.0", "id": ${deep}, "method": "berrymq.hello"}`, (a) => assert.equal((a as Rpc).error?.code, BridgeErrorCode.InvalidRequest)],
      [`{"id": ${deep}, "method": "connect_oneway", "params": [10]}`, (a) => assert.equal((a as Legacy).id, null)],
      [`{"id": null, "method": ${deep}, "params": []}`, (a) => assert.equal((a as Legacy).error?.code, BridgeErrorCode.InvalidRequest)],
      // A deeply nested token is an invalid token, not an internal error.
      [`{"id": null, "method": "send_message", "params": [${deep}, "a:b", [], {}]}`, (a) => assert.equal((a as Legacy).result, "invalid token")],
      [`{"jsonrpc": "2.0", "id": 1, "method": "berrymq.getNowait", "params": {"token": ${deep}}}`, (a) => assert.equal((a as Rpc).error?.code, BridgeErrorCode.InvalidToken)],
      [`{"id": null, "method": "send_message", "params": ["${token}", "a:b", ${deep}, {}]}`, (a) => assert.equal((a as Legacy).error?.code, BridgeErrorCode.InvalidParams)],
      [`{"id": null, "method": "get", "params": ["${token}", true, ${deep}]}`, (a) => assert.ok((a as Legacy).result === "invalid token" || (a as Legacy).error !== null)],
    ];
    for (const [body, check] of cases) {
      const answer = await post(server.url, body);
      assert.equal(answer.status, 200, body.slice(0, 60));
      check(answer.body);
      assert.doesNotMatch(answer.text, /InternalError|-32603/, body.slice(0, 60));
    }
    const hello = await post(server.url, { jsonrpc: "2.0", id: 1, method: "berrymq.hello" });
    assert.equal((hello.body as { result: { busId: string } }).result.busId, "hostile");
  });

  it("parses 100,000 levels of nesting (no stack overflow) and refuses it as data", async () => {
    const token = await oneway(server.url);
    const answer = await post(server.url, `{"id": null, "method": "send_message", "params": ["${token}", "a:b", [${nested(100_000)}], {}]}`);
    assert.equal((answer.body as Legacy).error?.code, BridgeErrorCode.InvalidParams);
    assert.match((answer.body as Legacy).error?.message ?? "", /nested too deep/);
  });
});

describe("web pages and other hosts", () => {
  let server: PeerProcess;
  before(async () => {
    server = await startPeer({ busId: "web" });
  });
  after(async () => {
    await server.stop();
  });

  const interconnect = (url: string) => ({ id: null, method: "interconnect", params: [["127.0.0.1", 9], "attacker", 1000], url });

  it("refuses what a browser can send cross-site: any Origin, text/plain, forms, no content type", async () => {
    const body = JSON.stringify(interconnect(server.url));
    for (const headers of [
      { origin: "https://evil.example", "content-type": "application/json" },
      { origin: "null", "content-type": "application/json" },
      { "content-type": "text/plain" },
      { "content-type": "text/plain;charset=UTF-8" },
      { "content-type": "application/x-www-form-urlencoded" },
      { "content-type": "multipart/form-data; boundary=x" },
      { "content-type": "" },
    ]) {
      const answer = await post(server.url, body, headers);
      assert.ok(answer.status === 403 || answer.status === 415, `${JSON.stringify(headers)}: HTTP ${answer.status}`);
      assert.equal((answer.body as Rpc).error?.code, BridgeErrorCode.Forbidden);
    }
    assert.equal(server.events.filter((e) => e.event === "message").length, 0);
  });

  it("refuses an allowOrigins entry that would never match or would admit too much, naming it", async () => {
    // "null" is the Origin of every sandboxed iframe and data: page, from any site; a trailing slash, a
    // default port or upper case never equal what a browser sends, so the page would be refused silently.
    for (const origin of ["null", "*", "http://localhost:3000/", "http://localhost:80", "HTTP://Localhost:3000", "localhost:3000", ""]) {
      await assert.rejects(serve({ port: 0, allowOrigins: [origin] }), (error: Error & { argument?: string; value?: unknown }) => {
        assert.equal(error.name, "InvalidArgumentError");
        assert.equal(error.argument, "allowOrigins");
        assert.equal(error.value, origin);
        return true;
      });
    }
    const server = await serve({ port: 0, allowOrigins: ["http://localhost:3000", "https://app.example"] });
    await server.close();
  });

  it("refuses a defaultTtl whose milliseconds overflow (its tokens would never expire), naming it", async () => {
    for (const defaultTtl of [1e308, 2_147_483_648, Number.POSITIVE_INFINITY, 0, -1]) {
      // A server that starts anyway is closed, so that the failure does not leave it listening.
      const started = serve({ port: 0, defaultTtl }).then(async (server) => {
        await server.close();
        throw new Error(`defaultTtl ${defaultTtl} was accepted`);
      });
      await assert.rejects(started, (error: Error & { argument?: string }) => {
        assert.equal(error.name, "InvalidArgumentError");
        assert.equal(error.argument, "defaultTtl");
        return true;
      });
    }
    const server = await serve({ port: 0, defaultTtl: 2_147_483_647 });
    await server.close();
  });

  it("refuses a Host that is not this server (DNS rebinding) and accepts IP literals and localhost", async () => {
    const hello = { jsonrpc: "2.0", id: 1, method: "berrymq.hello" };
    const rebound = await post(server.url, hello, { host: "evil.example:80" });
    assert.equal(rebound.status, 403);
    assert.match((rebound.body as Rpc).error?.message ?? "", /Host "evil.example:80"/);
    for (const host of ["127.0.0.1:1", "localhost:1", "[::1]:1"]) {
      assert.equal((await post(server.url, hello, { host })).status, 200, host);
    }
  });

  it("keeps berryMQ 0.3's Python client working: Content-Type text/xml and no Origin", async () => {
    const answer = await post(server.url, { id: null, method: "connect_oneway", params: [1000] }, { "content-type": "text/xml" });
    assert.equal(typeof (answer.body as Legacy).result, "string");
  });

  it("accepts only tokens it issued: berrymq.interconnect returns its own, the caller's is refused for sending", async () => {
    const bus = new Bus({ id: "web-client" });
    const own = await serve({ bus });
    try {
      const answer = await post(server.url, {
        jsonrpc: "2.0",
        id: 1,
        method: "berrymq.interconnect",
        params: { url: own.url, token: "chosen-by-caller", busId: "web-client", ttl: 60 },
      });
      const issued = (answer.body as { result: { token: string } }).result.token;
      assert.ok(typeof issued === "string" && issued !== "chosen-by-caller");
      const withChosen = await post(server.url, { id: null, method: "send_message", params: ["chosen-by-caller", "a:b", [], {}] });
      assert.equal((withChosen.body as Legacy).result, "invalid token");
      const withIssued = await post(server.url, { id: null, method: "send_message", params: [issued, "issued:ok", [], {}] });
      assert.equal((withIssued.body as Legacy).result, "ok");
      // A 0.3 interconnect may not take over a token in use. (Not `issued`: its link back was given a token
      // `own` never issued, so `own` refuses it and the server may close that session at any moment.)
      const inUse = await oneway(server.url, 60);
      const taken = await post(server.url, { id: null, method: "interconnect", params: [["127.0.0.1", 9], inUse, 60] });
      assert.match((taken.body as Legacy).error?.message ?? "", /in use/, taken.text);
    } finally {
      await own.close();
    }
  });

  it("links back only to loopback (SSRF); other hosts need peerHosts and a secret", async () => {
    for (const [method, params] of [
      ["interconnect", [["10.0.0.1", 80], "t1", 60]],
      ["interconnect", [["169.254.169.254", 80], "t2", 60]],
      ["interconnect", [["example.com", 80], null, 60]],
    ] as const) {
      const answer = await post(server.url, { id: null, method, params });
      assert.equal((answer.body as Legacy).error?.code, BridgeErrorCode.InvalidParams, JSON.stringify(params));
      assert.match((answer.body as Legacy).error?.message ?? "", /loopback/);
    }
    const twoPointZero = await post(server.url, {
      jsonrpc: "2.0",
      id: 1,
      method: "berrymq.interconnect",
      params: { url: "http://169.254.169.254/latest/meta-data", token: "t", busId: "b", ttl: 60 },
    });
    assert.equal((twoPointZero.body as Rpc).error?.code, BridgeErrorCode.InvalidParams);
  });
});

describe("bounded resources", () => {
  let server: PeerProcess;
  before(async () => {
    server = await startPeer({
      busId: "bounded",
      server: { maxSessions: 20, queueSize: 5, maxBatch: 10, defaultTtl: 1, maxConnections: 8, requestTimeout: 1_000, headersTimeout: 1_000 },
    });
  });
  after(async () => {
    await server.stop();
  });

  it("caps open tokens (LimitExceeded) and gives every token a ttl by default", async () => {
    const answers: Legacy[] = [];
    for (let i = 0; i < 22; i++) answers.push((await post(server.url, { id: null, method: "connect_via_queue", params: ["q:*", null] })).body as Legacy);
    const refused = answers.filter((a) => a.error !== null);
    assert.equal(refused.length, 2);
    assert.equal(refused[0]?.error?.code, BridgeErrorCode.LimitExceeded);
    assert.match(refused[0]?.error?.message ?? "", /maxSessions/);
    // Asked without a ttl, they expire after defaultTtl (1 s here): room again.
    await sleep(2_300);
    const again = (await post(server.url, { id: null, method: "connect_oneway", params: [null] })).body as Legacy;
    assert.equal(typeof again.result, "string");
    const expired = (await post(server.url, { id: null, method: "get_nowait", params: [answers[0]?.result] })).body as Legacy;
    assert.equal(expired.result, "timeout");
  });

  it("bounds a queue session's queue and reports the overflow", async () => {
    const queue = ((await post(server.url, { id: null, method: "connect_via_queue", params: ["flood:*", 60] })).body as Legacy).result;
    const token = await oneway(server.url, 60);
    for (let i = 0; i < 8; i++) await post(server.url, { id: null, method: "send_message", params: [token, "flood:n", [i], {}] });
    await waitFor(() => server.events.filter((e) => e.event === "error" && e.code === "QUEUE_OVERFLOW").length >= 3, "overflow reported");
    const got: unknown[] = [];
    for (;;) {
      const answer = (await post(server.url, { id: null, method: "get_nowait", params: [queue] })).body as Legacy;
      if (answer.error !== null) break;
      got.push((answer.result as unknown[])[1]);
    }
    assert.deepEqual(got, [[0], [1], [2], [3], [4]]);
  });

  it("caps identifiers at 1,024 characters on every method, without echoing them", async () => {
    const token = await oneway(server.url, 60);
    const huge = `${"x".repeat(900_000)}:y`;
    for (const body of [
      { id: null, method: "send_message", params: [token, huge, [], {}] },
      { id: null, method: "connect_via_queue", params: [huge, 60] },
      { jsonrpc: "2.0", id: 1, method: "berrymq.twitter", params: { token, identifier: huge } },
    ]) {
      const answer = await post(server.url, body);
      assert.ok(answer.text.length < 2_000, `answer of ${answer.text.length} bytes`);
      assert.match(answer.text, /1024/);
    }
  });

  it("refuses a batch past maxBatch with one error, cheaply", async () => {
    const batch = Array.from({ length: 100_000 }, () => 1);
    const answer = await post(server.url, batch);
    assert.equal((answer.body as Rpc).error?.code, BridgeErrorCode.LimitExceeded);
    assert.ok(answer.text.length < 300);
  });

});

describe("bounded connections", () => {
  it("caps connections, and cuts slow-body sockets after requestTimeout so they cannot lock clients out", async () => {
    const server = await startPeer({ busId: "slow", server: { maxConnections: 8, requestTimeout: 1_000, headersTimeout: 1_000 } });
    const port = Number(new URL(server.url).port);
    const open = (): Socket => {
      const socket = connect(port, "127.0.0.1");
      socket.on("error", () => {});
      socket.resume();
      return socket;
    };
    const sockets: Socket[] = [];
    try {
      for (let i = 0; i < 8; i++) {
        const socket = open();
        // Headers, then a body that never comes.
        socket.write("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{");
        sockets.push(socket);
      }
      await sleep(300);
      const extra = open();
      sockets.push(extra);
      await waitFor(() => extra.destroyed || extra.readableEnded, "the connection past maxConnections closed at once", 2_000);
      const slow = sockets.slice(0, 8);
      await waitFor(() => slow.every((s) => s.destroyed || s.readableEnded), "slow sockets cut after requestTimeout", 5_000);
      const hello = await post(server.url, { jsonrpc: "2.0", id: 1, method: "berrymq.hello" }, { connection: "close" });
      assert.equal(hello.status, 200);
    } finally {
      for (const socket of sockets) socket.destroy();
      await server.stop();
    }
  });
});

describe("shutdown", () => {
  it("a long-poll waiting when the server closes answers QueueClosed (-32005), not an internal error", async () => {
    const server = await startPeer({ busId: "closing" });
    const token = ((await post(server.url, { jsonrpc: "2.0", id: 1, method: "berrymq.connect", params: { style: "queue", filter: "z:*", ttl: 60 } }))
      .body as { result: { token: string } }).result.token;
    const pending = post(server.url, { jsonrpc: "2.0", id: 2, method: "berrymq.get", params: { token } });
    await sleep(200);
    server.command({ cmd: "close" });
    const answer = await pending;
    assert.equal((answer.body as Rpc).error?.code, BridgeErrorCode.QueueClosed);
    await server.stop();
  });

  it("PeerLink still works against a server with all defaults (issued token round trip)", async () => {
    const bus = new Bus({ id: "roundtrip" });
    const local = await serve({ bus });
    const far = await startPeer({ busId: "far-roundtrip" });
    const link = await PeerLink.connect(far.url, { bus, server: local });
    try {
      bus.twitter("rt:one", 1);
      await waitFor(() => far.messages("rt:one").length === 1, "rt:one at the far side");
    } finally {
      await link.close();
      await far.stop();
      await local.close();
    }
  });
});
