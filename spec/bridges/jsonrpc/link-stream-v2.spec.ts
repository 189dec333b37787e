// Version 2 of link streams (Upgrade: berrymq-link/2): numbered batches acknowledged by number, an
// acknowledgement riding on the next batch, large batches delivered in parts, and the way back to version
// 1 for an older berrymq.
import assert from "node:assert/strict";
import { once } from "node:events";
import { type IncomingHttpHeaders, type IncomingMessage, request } from "node:http";
import { connect, createServer, type Socket } from "node:net";
import { after, afterEach, before, describe, it } from "node:test";
import { StreamClosedError } from "../../../bridges/jsonrpc/errors.js";
import { BridgeErrorCode, type BridgeServer, PeerLink, RemoteError, RpcFault, serve } from "../../../bridges/jsonrpc/index.js";
import {
  DELIVERY_PART,
  type Deliverer,
  LinkStream,
  STREAM_OFFER,
  STREAM_PROTOCOL,
  STREAM_PROTOCOL_2,
  STREAM_PROTOCOL_3,
  type WireError,
} from "../../../bridges/jsonrpc/link-stream.js";
import { Bus } from "../../../lib/bus.js";
import type { Message } from "../../../lib/message.js";
import { socketPair } from "../../helpers/socket-pair.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { post } from "./raw-http.js";

// Whatever a test opened is closed after it, passed or failed (an open socket would keep the file's process
// alive after a failure).
const toClose: { destroy(): void }[] = [];
afterEach(() => {
  for (const thing of toClose.splice(0)) thing.destroy();
});

// The frames written on a raw socket, one JSON value per line, in order.
function frames(socket: Socket): { next(timeout?: number): Promise<unknown>; write(frame: unknown): void } {
  const got: unknown[] = [];
  const waiters: ((frame: unknown) => void)[] = [];
  let text = "";
  socket.on("data", (chunk: Buffer) => {
    text += chunk.toString();
    for (let end = text.indexOf("\n"); end !== -1; end = text.indexOf("\n")) {
      const frame = JSON.parse(text.slice(0, end)) as unknown;
      text = text.slice(end + 1);
      const waiter = waiters.shift();
      if (waiter !== undefined) waiter(frame);
      else got.push(frame);
    }
  });
  return {
    next: (timeout = 2_000) =>
      got.length > 0
        ? Promise.resolve(got.shift())
        : new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`no frame within ${timeout} ms`)), timeout);
            waiters.push((frame) => {
              clearTimeout(timer);
              resolve(frame);
            });
          }),
    write: (frame) => socket.write(`${typeof frame === "string" ? frame : JSON.stringify(frame)}\n`),
  };
}

function closed(stream: LinkStream): Promise<void> {
  return new Promise((resolve) => stream.onClose(resolve));
}

interface Taken {
  parts: [number, number][];
  envelopes: unknown[];
}

// A version 2 stream on one end of a fresh pair; what it delivers is recorded in `taken`.
async function streamPair(
  results: (envelope: unknown) => unknown = () => 1,
  maxFrame = 1024 * 1024,
): Promise<{
  stream: LinkStream;
  raw: ReturnType<typeof frames>;
  socket: Socket;
  taken: Taken;
  refused: WireError[];
}> {
  const [mine, theirs] = await socketPair(toClose);
  const taken: Taken = { parts: [], envelopes: [] };
  const refused: WireError[] = [];
  const stream = new LinkStream(mine, Buffer.alloc(0), {
    name: "spec stream",
    maxFrame,
    farMaxFrame: 1024 * 1024,
    answer: () => null,
    version: 2,
    take: (envelopes): Deliverer => {
      if (envelopes.length > 500) throw new RpcFault(BridgeErrorCode.LimitExceeded, "too many");
      return (start, end) => {
        taken.parts.push([start, end]);
        const part = envelopes.slice(start, end);
        taken.envelopes.push(...part);
        return part.map(results);
      };
    },
  });
  stream.onRefused = (error) => refused.push(error);
  return { stream, raw: frames(theirs), socket: theirs, taken, refused };
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe("LinkStream, version 2 (numbered batches, acknowledged by number)", () => {
  it("a batch resolves once the far side acknowledges it; a batch taken is acknowledged alone at the end of the turn", async () => {
    const { stream, raw } = await streamPair();
    let acknowledged = false;
    const sent = (stream.sendBatch([{ n: 1 }], 5_000) as Promise<void>).then(() => {
      acknowledged = true;
    });
    assert.deepEqual(await raw.next(), { b: 1, e: [{ n: 1 }] });
    raw.write({ b: 1, e: [{ n: 2 }] });
    assert.deepEqual(await raw.next(), { a: 1 }, "the far side's batch acknowledged, alone");
    await sleep(20);
    assert.equal(acknowledged, false, "not before its acknowledgement");
    raw.write({ a: 1 });
    await sent;
    stream.close();
  });

  it("an acknowledgement rides on the batch this side sends in the same turn (an answer, say): no frame of its own", async () => {
    const [mine, theirs] = await socketPair(toClose);
    const raw = frames(theirs);
    let stream: LinkStream | undefined;
    stream = new LinkStream(mine, Buffer.alloc(0), {
      name: "spec stream",
      maxFrame: 1024 * 1024,
      farMaxFrame: 1024 * 1024,
      answer: () => null,
      version: 2,
      // Answers each envelope at once, the way a follower's answer leaves after the dispatch.
      take: (envelopes) => (start, end) => {
        void Promise.resolve().then(() =>
          stream
            ?.sendBatch(
              envelopes.slice(start, end).map((n) => ({ answer: n })),
              5_000,
            )
            ?.catch(() => {}),
        );
        return envelopes.slice(start, end).map(() => 1);
      },
    });
    raw.write({ b: 1, e: [7] });
    assert.deepEqual(await raw.next(), { a: 1, b: 1, e: [{ answer: 7 }] });
    raw.write({ a: 1, b: 2, e: [8] });
    assert.deepEqual(await raw.next(), { a: 2, b: 2, e: [{ answer: 8 }] });
    await assert.rejects(raw.next(100), /no frame/, "no acknowledgement of its own");
    stream.close();
  });

  it("a batch too large for the far side is not sent on the stream, and the acknowledgement it would have carried still goes, refusals and all", async () => {
    const [mine, theirs] = await socketPair(toClose);
    const raw = frames(theirs);
    const holder: { stream?: LinkStream; sent?: unknown } = {};
    const stream = new LinkStream(mine, Buffer.alloc(0), {
      name: "spec stream",
      maxFrame: 1024 * 1024,
      farMaxFrame: 200,
      answer: () => null,
      version: 2,
      take: (envelopes) => (start, end) => {
        void Promise.resolve().then(() => {
          holder.sent = holder.stream?.sendBatch([{ text: "x".repeat(300) }], 5_000);
        });
        return envelopes.slice(start, end).map(() => ({ error: { code: -32602, message: "refused" } }));
      },
    });
    holder.stream = stream;
    raw.write({ b: 1, e: [1] });
    assert.deepEqual(await raw.next(), { a: 1, r: [[1, 0, { code: -32602, message: "refused" }]] });
    assert.equal(holder.sent, undefined, "the caller POSTs it instead");
    stream.close();
  });

  it("envelopes the far bus refused reach onRefused; a batch refused as a whole rejects with the far side's error and closes the stream", async () => {
    const { stream, raw, refused } = await streamPair();
    const first = stream.sendBatch([{ n: 1 }, { n: 2 }], 5_000) as Promise<void>;
    await raw.next();
    raw.write({ a: 1, r: [[1, 1, { code: -32602, message: "invalid envelope" }]] });
    await first;
    assert.deepEqual(refused, [{ code: -32602, message: "invalid envelope" }]);
    const second = stream.sendBatch([{ n: 3 }], 5_000) as Promise<void>;
    await raw.next();
    raw.write({ a: 1, f: [2, { code: -32001, message: "invalid token" }] });
    await assert.rejects(second, (error: unknown) => error instanceof RemoteError && error.rpcCode === -32001);
    await closed(stream);
  });

  it("anything unexpected closes the stream, and a batch waiting on it rejects with StreamClosedError", async () => {
    const bad: unknown[] = [
      "not json",
      { a: 5 },
      { b: 2, e: [] },
      { b: 1, e: "no" },
      { x: 1 },
      [1, 2],
      { a: 0, r: [[9, 0, { code: 1, message: "x" }]] },
      { a: 0, f: [3, { code: 1, message: "x" }] },
    ];
    for (const frame of bad) {
      const { stream, raw } = await streamPair();
      const waiting = stream.sendBatch([{ n: 1 }], 5_000) as Promise<void>;
      await raw.next();
      raw.write(frame);
      await assert.rejects(waiting, StreamClosedError, `after ${JSON.stringify(frame)}`);
      assert.equal(stream.closed, true);
    }
  });

  it("no acknowledgement within the timeout closes the stream", async () => {
    const { stream, raw } = await streamPair();
    const started = Date.now();
    await assert.rejects(stream.sendBatch([{ n: 1 }], 60) as Promise<void>, /no acknowledgement within 60 ms/);
    assert.ok(Date.now() - started >= 55);
    await raw.next();
  });

  it(`a batch of more than ${DELIVERY_PART} requests is delivered in parts, one per turn, and acknowledged once delivered`, async () => {
    const { stream, raw, taken } = await streamPair();
    const requests = range(40).map((n) => ({ n, replyTo: "calc:result" }));
    raw.write({ b: 1, e: requests });
    // Acknowledged only once the bus has every envelope: a process killed meanwhile loses nothing the far
    // side believes delivered (before r27 it was acknowledged on arrival).
    assert.deepEqual(await raw.next(), { a: 1 });
    assert.equal(taken.envelopes.length, 40);
    assert.deepEqual(taken.parts, [
      [0, 16],
      [16, 32],
      [32, 40],
    ]);
    assert.deepEqual(taken.envelopes, requests);
    // Other messages go at once, in one part, then are acknowledged.
    raw.write({ b: 2, e: range(40) });
    assert.deepEqual(await raw.next(), { a: 2 });
    assert.equal(taken.envelopes.length, 80);
    assert.deepEqual(taken.parts.at(-1), [0, 40]);
    stream.close();
  });

  it("a stream closed mid-batch delivers no more of it and never acknowledged it: its sender sends it again", async () => {
    const holder: { stream?: LinkStream } = {};
    const { stream, raw, taken } = await streamPair((envelope) => {
      // Closed right after the first part, before the next turn's part.
      if ((envelope as { n: number }).n === 0) setImmediate(() => holder.stream?.close());
      return 1;
    });
    holder.stream = stream;
    const answers = range(100).map((n) => ({ n, inReplyTo: `asker/${n}` }));
    raw.write({ b: 1, e: answers });
    await closed(stream);
    await assert.rejects(raw.next(200), /no frame/);
    await sleep(20);
    assert.deepEqual(taken.parts, [[0, 16]]);
  });

  it("refusals found while delivering go back with the next acknowledgement; a batch the far side may not send is refused as a whole", async () => {
    const { stream, raw } = await streamPair((n) => (n === 1 ? { error: { code: -32602, message: "bad" } } : 1));
    raw.write({ b: 1, e: [0, 1, 2] });
    assert.deepEqual(await raw.next(), { a: 1, r: [[1, 1, { code: -32602, message: "bad" }]] });
    raw.write({ b: 2, e: range(501) });
    const refusal = (await raw.next()) as { a: number; f: [number, WireError] };
    assert.equal(refusal.a, 1);
    assert.equal(refusal.f[0], 2);
    assert.equal(refusal.f[1].code, BridgeErrorCode.LimitExceeded);
    stream.close();
  });

  // A chunk holding one whole frame is parsed with its newline (no slice): the bound must stay the frame's
  // own size in UTF-8, whether it comes in one chunk or in pieces.
  it("a frame of exactly maxFrame bytes is taken, one byte more closes the stream: in one chunk or in pieces, in UTF-8", async () => {
    const frameOf = (bytes: number, char = "x"): string => {
      const head = '{"b":1,"e":["';
      const tail = '"]}';
      const fill = bytes - head.length - tail.length;
      return head + (char === "x" ? "x".repeat(fill) : `${char.repeat(Math.floor(fill / 2))}${fill % 2 === 1 ? "x" : ""}`) + tail;
    };
    for (const char of ["x", "é"]) {
      for (const pieces of [1, 3]) {
        for (const bytes of [200, 201]) {
          const { stream, raw, socket, taken } = await streamPair(() => 1, 200);
          const text = `${frameOf(bytes, char)}\n`;
          assert.equal(Buffer.byteLength(text), bytes + 1);
          const buffer = Buffer.from(text);
          const size = Math.ceil(buffer.length / pieces);
          for (let at = 0; at < buffer.length; at += size) {
            socket.write(buffer.subarray(at, at + size));
            await sleep(5);
          }
          const what = `${bytes} bytes of ${char} in ${pieces} piece(s)`;
          if (bytes === 200) {
            assert.deepEqual(await raw.next(), { a: 1 }, what);
            assert.equal(taken.envelopes.length, 1, what);
          } else {
            await Promise.race([closed(stream), sleep(2_000)]);
            assert.equal(stream.closed, true, what);
            assert.deepEqual(taken.envelopes, [], what);
          }
          stream.close();
        }
      }
    }
  });

  // Frames are parsed, then only the numbers parsing made are looked at (not the text): a number that
  // parsing changed must still close the stream, wherever it is in the frame; exact ones near the bound
  // must still go through.
  it("a frame holding a number JSON.parse would change closes the stream, wherever it is; exact numbers near it are taken", async () => {
    const inexact = [
      '{"b":1,"e":[{"args":[9007199254740993]}]}',
      '{"b":1,"e":[{"kwargs":{"deep":[[{"n":-12345678901234567}]]}}]}',
      '{"b":1,"e":[{"args":[1e400]}]}',
      '{"b":1,"e":[{"args":[-1.5e999]}]}',
      '{"a":0,"b":1,"e":[{"__proto__":{"n":99999999999999999999}}]}',
      `{"b":1,"e":[${"[".repeat(100)}123456789012345678${"]".repeat(100)}]}`,
    ];
    for (const frame of inexact) {
      const { stream, raw, taken } = await streamPair();
      raw.write(frame);
      await Promise.race([closed(stream), sleep(2_000)]);
      assert.equal(stream.closed, true, `closed by ${frame.slice(0, 60)}`);
      assert.deepEqual(taken.envelopes, [], `nothing of ${frame.slice(0, 60)} delivered`);
    }
    const exact = [
      '{"b":1,"e":[{"args":[9007199254740992,999999999999999,-999999999999999,1e15,1.5e300,-0,0.1]}]}',
      `{"b":1,"e":[${"[".repeat(100)}1${"]".repeat(100)}]}`,
      '{"b":1,"e":[{"id":"x:y","messageId":"a/12345678901234567890","args":["1e999"]}]}',
    ];
    for (const frame of exact) {
      const { stream, raw, taken } = await streamPair();
      raw.write(frame);
      assert.deepEqual(await raw.next(), { a: 1 }, frame.slice(0, 60));
      assert.deepEqual(taken.envelopes, (JSON.parse(frame) as { e: unknown[] }).e);
      assert.equal(stream.closed, false);
      stream.close();
    }
  });
});

// Sends an upgrade request as any HTTP client could; resolves to the status and, when upgraded, the socket.
function upgrade(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; socket?: Socket; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "GET", headers: { connection: "Upgrade", ...headers } });
    req.on("error", reject);
    req.on("response", (res: IncomingMessage) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.on("upgrade", (res, socket: Socket) => {
      toClose.push(socket);
      resolve({ status: 101, socket, headers: res.headers });
    });
    req.end();
  });
}

describe("a bridge server's version 2 streams (wire)", () => {
  let server: BridgeServer;
  let peerServer: BridgeServer;
  const interconnect = async (): Promise<string> => {
    const answer = await post(server.url, {
      jsonrpc: "2.0",
      id: 1,
      method: "berrymq.interconnect",
      params: { url: peerServer.url, token: "v2-peer-side-token", busId: "v2-guard-peer", ttl: 60 },
    });
    return (answer.body as { result: { token: string } }).result.token;
  };
  const headers = (token: string, offer: string): Record<string, string> => ({
    "content-type": "application/json",
    upgrade: offer,
    "berrymq-token": token,
    "berrymq-max-frame": "100000",
  });
  const envelope = (n: number): Record<string, unknown> => ({
    v: 1,
    id: "raw:v2",
    args: [n],
    kwargs: {},
    messageId: `raw-v2/${n}`,
    timestamp: 1,
    hops: ["v2-guard-peer"],
  });
  before(async () => {
    server = await serve({ bus: new Bus({ id: "v2-guard" }) });
    peerServer = await serve({ bus: new Bus({ id: "v2-guard-peer" }) });
    const sink = { accept: () => 0, acceptMessage: () => 0, close: async () => ({ undelivered: [] }) };
    peerServer.attachPeer("v2-peer-side-token", sink as unknown as PeerLink);
  });
  after(async () => {
    await server.close();
    await peerServer.close();
  });

  it("takes the newest version offered: berrymq-link/3 from a berrymq peer, berrymq-link/2 or /1 from an older one", async () => {
    const token = await interconnect();
    const newer = await upgrade(server.url, headers(token, STREAM_OFFER));
    assert.equal(newer.status, 101);
    assert.equal(newer.headers.upgrade, STREAM_PROTOCOL_3);
    newer.socket?.destroy();
    // What a berrymq from before version 3 offers.
    const version2 = await upgrade(server.url, headers(await interconnect(), `${STREAM_PROTOCOL_2}, ${STREAM_PROTOCOL}`));
    assert.equal(version2.status, 101);
    assert.equal(version2.headers.upgrade, STREAM_PROTOCOL_2);
    version2.socket?.destroy();
    const older = await upgrade(server.url, headers(await interconnect(), STREAM_PROTOCOL));
    assert.equal(older.status, 101);
    assert.equal(older.headers.upgrade, STREAM_PROTOCOL);
    older.socket?.destroy();
    assert.equal((await upgrade(server.url, headers(token, "berrymq-link/4"))).status, 400);
  });

  it("a batch is delivered and acknowledged; a refused envelope comes back in `r`; a batch out of order closes the stream", async () => {
    const token = await interconnect();
    const opened = await upgrade(server.url, headers(token, STREAM_PROTOCOL_2));
    const socket = opened.socket as Socket;
    const raw = frames(socket);
    raw.write({ b: 1, e: [envelope(1), envelope(2)] });
    assert.deepEqual(await raw.next(), { a: 1 });
    raw.write({ b: 2, e: [{ v: 2 }, envelope(3)] });
    const second = (await raw.next()) as { a: number; r: [number, number, WireError][] };
    assert.equal(second.a, 2);
    assert.deepEqual(
      second.r.map(([batch, index, error]) => [batch, index, error.code]),
      [[2, 0, -32602]],
    );
    raw.write({ b: 4, e: [envelope(4)] });
    await once(socket, "close");
  });

  it("a batch larger than the server's maxBatch is refused as a whole (f), and nothing after it is delivered", async () => {
    const bus = new Bus({ id: "v2-bounded" });
    const got: number[] = [];
    bus.follow("raw:v2", (m: Message) => void got.push(m.args[0] as number));
    const bounded = await serve({ bus, maxBatch: 5 });
    toClose.push({ destroy: () => void bounded.close() });
    const answer = await post(bounded.url, {
      jsonrpc: "2.0",
      id: 1,
      method: "berrymq.interconnect",
      params: { url: peerServer.url, token: "v2-peer-side-token", busId: "v2-guard-peer", ttl: 60 },
    });
    const token = (answer.body as { result: { token: string } }).result.token;
    const opened = await upgrade(bounded.url, headers(token, STREAM_PROTOCOL_2));
    const raw = frames(opened.socket as Socket);
    raw.write({ b: 1, e: [envelope(10)] });
    assert.deepEqual(await raw.next(), { a: 1 });
    raw.write({ b: 2, e: range(6).map((i) => envelope(20 + i)) });
    raw.write({ b: 3, e: [envelope(30)] });
    const refusal = (await raw.next()) as { a: number; f: [number, WireError] };
    assert.deepEqual([refusal.a, refusal.f[0], refusal.f[1].code], [1, 2, BridgeErrorCode.LimitExceeded]);
    await sleep(50);
    assert.deepEqual(got, [10]);
  });
});

// A proxy in front of a server that answers an upgrade to anything but berrymq-link/1 alone with 400, as a
// berrymq server from before version 2 does; everything else passes through.
async function versionOneOnly(target: number): Promise<{ url: string; offers: string[]; close(): Promise<void> }> {
  const offers: string[] = [];
  const sockets = new Set<Socket>();
  const proxy = createServer((client) => {
    sockets.add(client);
    client.on("error", () => {});
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end === -1) return;
      client.off("data", onData);
      const upgradeHeader = /^upgrade:\s*(.*)$/im.exec(head.subarray(0, end).toString())?.[1]?.trim();
      if (upgradeHeader !== undefined) offers.push(upgradeHeader);
      if (upgradeHeader !== undefined && upgradeHeader !== STREAM_PROTOCOL) {
        const body = '{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"only Upgrade: berrymq-link/1"}}';
        client.end(`HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
        return;
      }
      const upstream = connect(target, "127.0.0.1");
      sockets.add(upstream);
      upstream.on("error", () => {});
      upstream.write(head);
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    };
    client.on("data", onData);
  });
  proxy.listen(0, "127.0.0.1");
  await once(proxy, "listening");
  return {
    url: `http://127.0.0.1:${(proxy.address() as { port: number }).port}/`,
    offers,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}

describe("PeerLink streams", () => {
  it("berrymq peers stream version 3 (version 2 with compact envelopes): messages both ways in order, 1,000 requests at once each answered once", async () => {
    const a = new Bus({ id: "v2-order-a" });
    const b = new Bus({ id: "v2-order-b" });
    const [serverA, serverB] = await Promise.all([serve({ bus: a }), serve({ bus: b })]);
    toClose.push({ destroy: () => void Promise.all([serverA.close(), serverB.close()]) });
    const atB: number[] = [];
    const atA: number[] = [];
    b.follow("seq:ab", (m: Message) => void atB.push(m.args[0] as number));
    a.follow("seq:ba", (m: Message) => void atA.push(m.args[0] as number));
    let calls = 0;
    b.follow("calc:add", (m: Message) => {
      calls++;
      return (m.args[0] as number) + (m.args[1] as number);
    });
    const link = await PeerLink.connect(serverB.url, { bus: a, server: serverA });
    toClose.unshift({ destroy: () => void link.close() });
    await waitFor(() => link.streaming, "the stream is open");
    assert.equal(link.streamVersion, 3);
    for (const i of range(3_000)) {
      a.twitter("seq:ab", i);
      b.twitter("seq:ba", i);
      if (i % 300 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const answers = await Promise.all(range(1_000).map((i) => a.ask<number>("calc:add", i, 1)));
    assert.deepEqual(
      answers,
      range(1_000).map((i) => i + 1),
    );
    assert.equal(calls, 1_000);
    await waitFor(() => atB.length === 3_000 && atA.length === 3_000, "3,000 messages each way");
    assert.deepEqual(atB, range(3_000));
    assert.deepEqual(atA, range(3_000));
    assert.equal(link.streamVersion, 3);
  });

  it("against a server that knows only berrymq-link/1 (an older berrymq) the link asks again for it and streams version 1", async () => {
    const a = new Bus({ id: "v1-only-a" });
    const b = new Bus({ id: "v1-only-b" });
    const [serverA, serverB] = await Promise.all([serve({ bus: a }), serve({ bus: b })]);
    const front = await versionOneOnly(serverB.port);
    toClose.push({ destroy: () => void Promise.all([front.close(), serverA.close(), serverB.close()]) });
    const atB: number[] = [];
    const atA: number[] = [];
    b.follow("seq:ab", (m: Message) => void atB.push(m.args[0] as number));
    a.follow("seq:ba", (m: Message) => void atA.push(m.args[0] as number));
    b.follow("calc:add", (m: Message) => (m.args[0] as number) + (m.args[1] as number));
    const link = await PeerLink.connect(front.url, { bus: a, server: serverA });
    toClose.unshift({ destroy: () => void link.close() });
    await waitFor(() => link.streaming, "a stream is open");
    assert.equal(link.streamVersion, 1);
    assert.deepEqual(front.offers, [STREAM_OFFER, STREAM_PROTOCOL]);
    for (const i of range(500)) {
      a.twitter("seq:ab", i);
      b.twitter("seq:ba", i);
    }
    assert.equal(await a.ask("calc:add", 20, 22), 42);
    await waitFor(() => atB.length === 500 && atA.length === 500, "500 messages each way");
    assert.deepEqual(atB, range(500));
    assert.deepEqual(atA, range(500));
  });
});
