// Link streams: a PeerLink's connection upgraded to a stream of JSON-RPC frames (Upgrade: berrymq-link/1),
// the POST fallback, and the server's refusals (the upgrade is the same security boundary as a POST).
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, request, type Server } from "node:http";
import { connect, createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { type BridgeServer, PeerLink, serve } from "../../../bridges/jsonrpc/index.js";
import { STREAM_PROTOCOL } from "../../../bridges/jsonrpc/link-stream.js";
import { Bus } from "../../../lib/bus.js";
import type { Message } from "../../../lib/message.js";
import { waitFor } from "../../helpers/wait-for.js";
import { post } from "./raw-http.js";

interface Pair {
  a: Bus;
  b: Bus;
  serverA: BridgeServer;
  serverB: BridgeServer;
}

async function pair(prefix: string, options: { maxBodySize?: number } = {}): Promise<Pair> {
  const a = new Bus({ id: `${prefix}-a` });
  const b = new Bus({ id: `${prefix}-b` });
  const [serverA, serverB] = await Promise.all([serve({ bus: a }), serve({ bus: b, ...options })]);
  return { a, b, serverA, serverB };
}

function collect(bus: Bus, pattern: string): number[] {
  const got: number[] = [];
  bus.follow(pattern, (m: Message) => void got.push(m.args[0] as number));
  return got;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

// A TCP proxy in front of a server that can cut every connection through it at once.
async function proxy(target: number): Promise<{ url: string; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((client) => {
    const upstream = connect(target, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const cut = (): void => {
    for (const socket of sockets) socket.destroy();
  };
  const close = (): Promise<void> => {
    cut();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return { url: `http://127.0.0.1:${port}/`, cut, close };
}

// Sends an upgrade request as any HTTP client could; resolves to the status (101 when upgraded).
function upgrade(url: string, headers: Record<string, string>): Promise<{ status: number; socket?: Socket; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "GET", headers: { connection: "Upgrade", ...headers } });
    req.on("error", reject);
    req.on("response", (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on("upgrade", (_res, socket: Socket) => resolve({ status: 101, socket, body: "" }));
    req.end();
  });
}

// The first `count` frames on the stream that are answers (the server's link back may send requests of its own).
function answerFrames(socket: Socket, count: number): Promise<unknown[]> {
  return new Promise((resolve) => {
    let text = "";
    const frames: unknown[] = [];
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      for (let end = text.indexOf("\n"); end !== -1 && frames.length < count; end = text.indexOf("\n")) {
        const frame = JSON.parse(text.slice(0, end)) as unknown;
        text = text.slice(end + 1);
        const first = Array.isArray(frame) ? frame[0] : frame;
        if (!(typeof first === "object" && first !== null && "method" in first)) frames.push(frame);
      }
      if (frames.length < count) return;
      socket.off("data", onData);
      resolve(frames);
    };
    socket.on("data", onData);
  });
}

function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    socket.on("close", () => resolve());
  });
}

describe("PeerLink over a link stream", () => {
  it("streams once connected: messages both ways in order, requests answered", async () => {
    const { a, b, serverA, serverB } = await pair("stream-order");
    const atB = collect(b, "seq:ab");
    const atA = collect(a, "seq:ba");
    b.follow("calc:add", (m: Message) => (m.args[0] as number) + (m.args[1] as number));
    const link = await PeerLink.connect(serverB.url, { bus: a, server: serverA });
    await waitFor(() => link.streaming, "the stream is open");
    for (const i of range(2_000)) {
      a.twitter("seq:ab", i);
      b.twitter("seq:ba", i);
      if (i % 250 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(await a.ask("calc:add", 20, 22), 42);
    await waitFor(() => atB.length === 2_000 && atA.length === 2_000, "2,000 messages each way");
    assert.deepEqual(atB, range(2_000));
    assert.deepEqual(atA, range(2_000));
    const answers = await Promise.all(range(200).map((i) => a.ask<number>("calc:add", i, 1)));
    assert.deepEqual(
      answers,
      range(200).map((i) => i + 1),
    );
    assert.ok(link.streaming);
    await link.close();
    await Promise.all([serverA.close(), serverB.close()]);
  });

  it("a stream cut under traffic: every message arrives once, in order, and the link streams again", async () => {
    const { a, b, serverA, serverB } = await pair("stream-cut");
    const front = await proxy(serverB.port);
    const atB = collect(b, "seq:ab");
    const link = await PeerLink.connect(front.url, { bus: a, server: serverA, pingInterval: 50 });
    link.on("error", () => {});
    await waitFor(() => link.streaming, "the stream is open");
    let cut = false;
    for (const i of range(3_000)) {
      a.twitter("seq:ab", i);
      if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
      if (!cut && atB.length > 500) {
        cut = true;
        front.cut();
      }
    }
    await waitFor(() => atB.length >= 3_000, "3,000 messages");
    assert.ok(cut, "the connections were cut mid-traffic");
    assert.deepEqual(atB, range(3_000));
    await waitFor(() => link.streaming, "a new stream after the cut");
    await link.close();
    await front.close();
    await Promise.all([serverA.close(), serverB.close()]);
  });

  it("a batch larger than the far side's body limit goes as POSTs (split there), not on the stream", async () => {
    const { a, b, serverA, serverB } = await pair("stream-large", { maxBodySize: 20_000 });
    const atB = collect(b, "big:one");
    const link = await PeerLink.connect(serverB.url, { bus: a, server: serverA });
    await waitFor(() => link.streaming, "the stream is open");
    const text = "x".repeat(1_000);
    for (const i of range(60)) a.twitter("big:one", i, text);
    await waitFor(() => atB.length === 60, "60 messages of 1 kB");
    assert.deepEqual(atB, range(60));
    assert.ok(link.streaming, "the stream stays open");
    await link.close();
    await Promise.all([serverA.close(), serverB.close()]);
  });

  it("with secrets: the far server proves it holds this server's secret (its peerSecret) before it may write on the stream", async () => {
    const a = new Bus({ id: "stream-secret-a" });
    const b = new Bus({ id: "stream-secret-b" });
    const serverA = await serve({ bus: a, secret: "secret-a" });
    const good = await serve({ bus: b, secret: "secret-b", peerSecret: "secret-a" });
    const atA = collect(a, "seq:ba");
    const link = await PeerLink.connect(good.url, { bus: a, server: serverA, secret: "secret-b" });
    await waitFor(() => link.streaming, "the stream is open");
    for (const i of range(50)) b.twitter("seq:ba", i);
    await waitFor(() => atA.length === 50, "50 messages from b");
    await link.close();
    await good.close();
    // A far server without this server's secret gets no stream (and its POSTs here are refused, as ever).
    const c = new Bus({ id: "stream-secret-c" });
    c.on("error", () => {});
    const wrong = await serve({ bus: c, secret: "secret-b", peerSecret: "not-secret-a" });
    const atC = collect(c, "seq:ac");
    const other = await PeerLink.connect(wrong.url, { bus: a, server: serverA, secret: "secret-b" });
    a.twitter("seq:ac", 1);
    await waitFor(() => atC.length === 1, "a's message reaches c by POST");
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(other.streaming, false);
    await other.close();
    await Promise.all([serverA.close(), wrong.close()]);
  });

  it("a server that does not upgrade (an older berrymq) keeps the link to POSTs", async () => {
    const { a, b, serverA, serverB } = await pair("stream-old");
    // What an older server does with the upgrade request: no 'upgrade' listener, so a GET answered 405.
    const old: Server = createServer((req, res) => {
      if (req.method !== "POST") {
        req.resume();
        res.writeHead(405).end();
        return;
      }
      const forward = request(serverB.url, { method: "POST", headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(forward);
    });
    await new Promise<void>((resolve) => old.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(old.address() as { port: number }).port}/`;
    const atB = collect(b, "seq:ab");
    const atA = collect(a, "seq:ba");
    const link = await PeerLink.connect(url, { bus: a, server: serverA });
    for (const i of range(100)) {
      a.twitter("seq:ab", i);
      b.twitter("seq:ba", i);
    }
    await waitFor(() => atB.length === 100 && atA.length === 100, "100 messages each way");
    assert.deepEqual(atB, range(100));
    assert.deepEqual(atA, range(100));
    assert.equal(link.streaming, false);
    await link.close();
    old.closeAllConnections();
    await new Promise<void>((resolve) => old.close(() => resolve()));
    await Promise.all([serverA.close(), serverB.close()]);
  });
});

describe("link stream upgrades the server refuses", () => {
  let server: BridgeServer;
  let peerServer: BridgeServer;
  let peerToken: string;
  const json = { "content-type": "application/json" };
  before(async () => {
    server = await serve({ bus: new Bus({ id: "stream-guard" }) });
    peerServer = await serve({ bus: new Bus({ id: "stream-guard-peer" }) });
    // The link back the server opens sends with this token: the peer's server must know it.
    const sink = { accept: () => 0, acceptMessage: () => 0, close: async () => ({ undelivered: [] }) };
    peerServer.attachPeer("peer-side-token", sink as unknown as PeerLink);
    const answer = await post(server.url, {
      jsonrpc: "2.0",
      id: 1,
      method: "berrymq.interconnect",
      params: { url: peerServer.url, token: "peer-side-token", busId: "stream-guard-peer", ttl: 60 },
    });
    peerToken = (answer.body as { result: { token: string } }).result.token;
  });
  after(async () => {
    await server.close();
    await peerServer.close();
  });

  const streamHeaders = (token: string): Record<string, string> => ({
    ...json,
    upgrade: STREAM_PROTOCOL,
    "berrymq-token": token,
    "berrymq-max-frame": "1000",
  });

  it("a WebSocket upgrade (what a web page can send) gets 400", async () => {
    const answer = await upgrade(server.url, {
      ...json,
      upgrade: "websocket",
      "sec-websocket-version": "13",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    });
    assert.equal(answer.status, 400);
  });

  it("an Origin header gets 403, a foreign Host 403, no JSON content type 415", async () => {
    assert.equal((await upgrade(server.url, { ...streamHeaders(peerToken), origin: "https://evil.example" })).status, 403);
    assert.equal((await upgrade(server.url, { ...streamHeaders(peerToken), host: "evil.example" })).status, 403);
    const { "content-type": _, ...untyped } = streamHeaders(peerToken);
    assert.equal((await upgrade(server.url, untyped)).status, 415);
  });

  it("an unknown token, or one that is not a peer's, gets 403", async () => {
    assert.equal((await upgrade(server.url, streamHeaders("made-up"))).status, 403);
    const oneway = await post(server.url, { id: null, method: "connect_oneway", params: [60] });
    const token = (oneway.body as { result: string }).result;
    assert.equal((await upgrade(server.url, streamHeaders(token))).status, 403);
  });

  it("without the server's secret: 401", async () => {
    const secured = await serve({ bus: new Bus({ id: "stream-guard-secret" }), secret: "s3cret" });
    assert.equal((await upgrade(secured.url, streamHeaders("any"))).status, 401);
    await secured.close();
  });

  it("a peer's stream answers other calls in order, but at most 64 waiting at once", async () => {
    const opened = await upgrade(server.url, streamHeaders(peerToken));
    const socket = opened.socket as Socket;
    const ping = (id: number): string =>
      `${JSON.stringify({ jsonrpc: "2.0", id, method: "berrymq.ping", params: { token: peerToken } })}\n`;
    const three = answerFrames(socket, 3);
    socket.write(ping(1) + ping(2) + ping(3));
    assert.deepEqual(
      (await three).map((frame) => (frame as { id: unknown }).id),
      [1, 2, 3],
    );
    // Answers of json-rpc-2.0's methods are promises: 70 pipelined at once are more than may wait.
    socket.write(Array.from({ length: 70 }, (_, i) => ping(10 + i)).join(""));
    await closed(socket);
  });

  it("a long-poll that came over a stream ends when the stream closes (it takes no message meant for others)", async () => {
    const bus = new Bus({ id: "stream-poll" });
    const polled = await serve({ bus });
    const answer = await post(polled.url, {
      jsonrpc: "2.0",
      id: 1,
      method: "berrymq.interconnect",
      params: { url: peerServer.url, token: "peer-side-token", busId: "stream-guard-peer", ttl: 60 },
    });
    const token = (answer.body as { result: { token: string } }).result.token;
    const queue = await post(polled.url, {
      jsonrpc: "2.0",
      id: 2,
      method: "berrymq.connect",
      params: { style: "queue", filter: "job:*", ttl: 60 },
    });
    const queueToken = (queue.body as { result: { token: string } }).result.token;
    const opened = await upgrade(polled.url, streamHeaders(token));
    const socket = opened.socket as Socket;
    socket.write(`${JSON.stringify({ jsonrpc: "2.0", id: 3, method: "berrymq.get", params: { token: queueToken } })}\n`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    bus.twitter("job:run", 1);
    const got = await post(polled.url, { jsonrpc: "2.0", id: 4, method: "berrymq.getNowait", params: { token: queueToken } });
    assert.deepEqual((got.body as { result: { args: unknown[] } }).result.args, [1]);
    await polled.close();
  });

  it("berrymq.sendAll (a link's batch over its stream): one result per envelope, refusals as entries, bounds", async () => {
    const envelope = (n: number): Record<string, unknown> => ({
      v: 1,
      id: "raw:all",
      args: [n],
      kwargs: {},
      messageId: `raw-all/${n}`,
      timestamp: 1,
      hops: ["stream-guard-peer"],
    });
    const call = (params: unknown) => post(server.url, { jsonrpc: "2.0", id: 3, method: "berrymq.sendAll", params });
    const mixed = await call({ token: peerToken, envelopes: [envelope(1), { v: 2 }, envelope(1), envelope(2)] });
    const results = (mixed.body as { result: unknown[] }).result;
    assert.equal(results.length, 4);
    assert.equal(results[0], 0);
    assert.equal((results[1] as { error: { code: number } }).error.code, -32602);
    assert.equal(results[2], null, "a duplicate");
    assert.equal(results[3], 0);
    const lost = await call({ token: "made-up", envelopes: [envelope(3)] });
    assert.equal((lost.body as { error: { code: number } }).error.code, -32001);
    const many = await call({ token: peerToken, envelopes: Array.from({ length: 1_001 }, (_, i) => envelope(10 + i)) });
    assert.equal((many.body as { error: { code: number } }).error.code, -32010);
    const notArray = await call({ token: peerToken, envelopes: "x" });
    assert.equal((notArray.body as { error: { code: number } }).error.code, -32602);
  });

  it("a peer's stream: a berrymq.send frame is answered; garbage, an oversized frame or a stray answer close it", async () => {
    const opened = await upgrade(server.url, streamHeaders(peerToken));
    assert.equal(opened.status, 101);
    const socket = opened.socket as Socket;
    const envelope = {
      v: 1,
      id: "raw:hello",
      args: [1],
      kwargs: {},
      messageId: "raw/1",
      timestamp: 1,
      hops: ["stream-guard-peer"],
    };
    socket.write(
      `${JSON.stringify([{ jsonrpc: "2.0", id: 7, method: "berrymq.send", params: { token: peerToken, envelope } }])}\n`,
    );
    assert.deepEqual(await answerFrames(socket, 1), [[{ jsonrpc: "2.0", id: 7, result: 0 }]]);
    socket.write("not json\n");
    await closed(socket);
    for (const bad of ["y".repeat(1024 * 1024 + 10), `${JSON.stringify({ jsonrpc: "2.0", id: 1, result: "ok" })}\n`]) {
      const again = await upgrade(server.url, streamHeaders(peerToken));
      assert.equal(again.status, 101);
      (again.socket as Socket).write(bad);
      await closed(again.socket as Socket);
    }
  });
});
