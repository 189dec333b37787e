// Red team r20: a client that sends a request and never reads its answer. Node's timeouts cover receiving
// a request (headersTimeout, requestTimeout) and idle keep-alive, not sending an answer: such a client
// held its connection, and the answer buffered for it, for good (256 of them locked every client out).
// The server runs in a child process; clients are raw sockets.
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { type PeerProcess, startPeer } from "./peer-process.js";
import { post } from "./raw-http.js";

type Rpc = { id: unknown; result?: unknown; error?: { code: number; message: string } };

const RESPONSE_TIMEOUT = 300;
// 300 messages of 60 kB: an answer of 18 MB, more than the loopback socket buffers hold.
const MESSAGES = 300;
const BLOB = "x".repeat(60_000);

/** What a raw socket received of one answer: the declared length and the body bytes that came. */
interface Received {
  declared: number;
  body: number;
  ended: boolean;
}

function follow(socket: Socket): Received {
  const received: Received = { declared: -1, body: 0, ended: false };
  let head = "";
  socket.on("data", (chunk: Buffer) => {
    if (received.declared >= 0) {
      received.body += chunk.length;
      return;
    }
    head += chunk.toString("latin1");
    const end = head.indexOf("\r\n\r\n");
    if (end === -1) return;
    received.declared = Number(/content-length: (\d+)/i.exec(head.slice(0, end))?.[1] ?? "0");
    received.body = head.length - end - 4;
  });
  socket.on("error", () => {});
  socket.on("close", () => {
    received.ended = true;
  });
  return received;
}

async function call(url: string, method: string, params: Record<string, unknown>): Promise<Rpc> {
  const answer = await post(url, { jsonrpc: "2.0", id: 1, method, params }, { connection: "close" });
  return answer.body as Rpc;
}

describe("a client that does not read its answer (responseTimeout)", () => {
  let server: PeerProcess;
  let port: number;
  before(async () => {
    server = await startPeer({
      busId: "r20-slow-reader",
      follow: "nobody:listens",
      server: { responseTimeout: RESPONSE_TIMEOUT, keepAliveTimeout: 1_000 },
    });
    port = Number(new URL(server.url).port);
  });
  after(async () => {
    await server.stop();
  });

  // A queue session holding MESSAGES big messages; returns the raw batch body that empties it.
  async function filledQueue(filter: string): Promise<string> {
    const queue = (await call(server.url, "berrymq.connect", { style: "queue", filter: `${filter}:*`, ttl: 60 })).result as {
      token: string;
    };
    const sender = (await call(server.url, "berrymq.connect", { style: "oneway", ttl: 60 })).result as { token: string };
    for (let sent = 0; sent < MESSAGES; sent += 10) {
      const batch = Array.from({ length: 10 }, (_, i) => ({
        jsonrpc: "2.0",
        id: i,
        method: "berrymq.twitter",
        params: { token: sender.token, identifier: `${filter}:m`, args: [BLOB] },
      }));
      const answer = await post(server.url, batch, { connection: "close" });
      assert.equal(answer.status, 200);
    }
    const drain = Array.from({ length: MESSAGES }, (_, i) => ({
      jsonrpc: "2.0",
      id: i,
      method: "berrymq.getNowait",
      params: { token: queue.token },
    }));
    return JSON.stringify(drain);
  }

  function send(socket: Socket, body: string): void {
    socket.write(
      `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }

  it("cuts a connection whose client takes none of its answer for responseTimeout, and keeps serving", async () => {
    const body = await filledQueue("stuck");
    const socket = connect(port, "127.0.0.1");
    const received = follow(socket);
    socket.pause();
    try {
      send(socket, body);
      // Ten times the timeout: the server has long given up on a client that took nothing.
      await sleep(RESPONSE_TIMEOUT * 10);
      socket.resume();
      await waitFor(() => received.ended, "the cut connection to close once read", 10_000);
      assert.ok(received.declared > 10_000_000, `an answer of ${received.declared} bytes was begun`);
      assert.ok(
        received.body < received.declared,
        `the answer was cut: ${received.body} of ${received.declared} bytes came (before the fix, all of it: the server waited for good)`,
      );
    } finally {
      socket.destroy();
    }
    const hello = (await call(server.url, "berrymq.hello", {})).result as { busId: string };
    assert.equal(hello.busId, "r20-slow-reader");
  });

  it("a client that reads slowly but steadily gets its whole answer", async () => {
    const body = await filledQueue("steady");
    const socket = connect(port, "127.0.0.1");
    const received = follow(socket);
    try {
      send(socket, body);
      // Reads in short bursts, pausing for half the timeout between them.
      while (received.declared < 0 || received.body < received.declared) {
        assert.equal(received.ended, false, `cut after ${received.body} of ${received.declared} bytes`);
        socket.pause();
        await sleep(RESPONSE_TIMEOUT / 2);
        socket.resume();
        await sleep(5);
      }
      assert.equal(received.body, received.declared);
    } finally {
      socket.destroy();
    }
  });

  it("a long-poll waiting several times responseTimeout is not cut: it gets its message", async () => {
    const queue = (await call(server.url, "berrymq.connect", { style: "queue", filter: "late:*", ttl: 60 })).result as {
      token: string;
    };
    const sender = (await call(server.url, "berrymq.connect", { style: "oneway", ttl: 60 })).result as { token: string };
    const waiting = call(server.url, "berrymq.get", { token: queue.token, timeout: 20_000 });
    await sleep(RESPONSE_TIMEOUT * 4);
    await call(server.url, "berrymq.twitter", { token: sender.token, identifier: "late:m", args: [1] });
    const got = (await waiting).result as { id: string; args: unknown[] };
    assert.equal(got.id, "late:m");
    assert.deepEqual(got.args, [1]);
  });
});
