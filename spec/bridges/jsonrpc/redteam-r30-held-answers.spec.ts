// Red team r30: queueBytesTotal bounded what the server's queues held, not the answers carrying messages out
// of them. A client that opens copy queues, has one message copied into each (one POST) and takes them all
// with one batch of getNowait it never reads held the whole batch in the server's memory until the
// responseTimeout sweep cut it (10 to 20 s), while the queues, emptied, took the next copies: 1 MB sent to
// 128 queues held ~123 MB more per round (RSS 94 → 612 MB in four rounds on one connection each; 256
// connections: ~30 GB). An answer now counts against queueBytesTotal until it is sent or its connection
// is gone: copies past it are dropped and reported, as for full queues, and the budget comes back after.
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { type BridgeServer, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { type BerryError, QueueOverflowError } from "../../../lib/errors.js";
import { post } from "./raw-http.js";

const QUEUES = 16;
const MESSAGE = 3_000_000; // characters: 16 copies, 48 MB, far more than loopback's socket buffers take in
const TOTAL = 64 * 1024 * 1024;

describe("red team r30: answers a client does not read count against queueBytesTotal", () => {
  const bus = new Bus();
  const overflows: BerryError[] = [];
  const sockets: Socket[] = [];
  const tokens: string[] = [];
  let server: BridgeServer;
  let sender: string;
  before(async () => {
    bus.on("error", (error) => {
      if (error instanceof QueueOverflowError) overflows.push(error);
    });
    server = await serve({ bus, queueBytesTotal: TOTAL, maxBodySize: 4 * 1024 * 1024 });
    const call = async (params: Record<string, unknown>): Promise<string> => {
      const opened = await post(server.url, { jsonrpc: "2.0", id: 1, method: "berrymq.connect", params });
      return (opened.body as { result: { token: string } }).result.token;
    };
    for (let i = 0; i < QUEUES; i++) tokens.push(await call({ style: "queue", filter: "big:*", copy: true }));
    sender = await call({ style: "oneway" });
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await server.close();
  });

  const twitter = async (): Promise<unknown> => {
    const params = { token: sender, identifier: "big:x", args: ["x".repeat(MESSAGE)] };
    return (await post(server.url, { jsonrpc: "2.0", id: 1, method: "berrymq.twitter", params })).body;
  };

  // POSTs a batch of getNowait on every queue, reads the start of its answer, then no more.
  const takeAllUnread = async (): Promise<void> => {
    const body = JSON.stringify(
      tokens.map((token, id) => ({ jsonrpc: "2.0", id, method: "berrymq.getNowait", params: { token } })),
    );
    const socket = connect(server.port, "127.0.0.1");
    sockets.push(socket);
    socket.on("error", () => {});
    const started = new Promise<void>((resolve) =>
      socket.once("data", () => {
        socket.pause();
        resolve();
      }),
    );
    socket.write(
      `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    await started;
  };

  it("copies past the budget are dropped while an unread answer holds the last ones, and taken again once it is gone", async () => {
    assert.deepEqual(await twitter(), { jsonrpc: "2.0", id: 1, result: QUEUES });
    await takeAllUnread();
    // 48 MB is held in the unread answer: of 64 MiB, room for 5 more copies, not 16.
    const second = (await twitter()) as { result: number };
    assert.ok(second.result < QUEUES, `copies queued while the answer is held: ${second.result}`);
    assert.ok(overflows.length >= QUEUES - second.result, `${overflows.length} overflows reported`);
    assert.match(overflows[0]?.message ?? "", /queueBytesTotal/);
    // The client gone, its answer no longer counts.
    for (const socket of sockets) socket.destroy();
    for (const token of tokens) await post(server.url, { jsonrpc: "2.0", id: 2, method: "berrymq.getNowait", params: { token } });
    let queued = 0;
    for (const deadline = Date.now() + 5_000; queued !== QUEUES && Date.now() < deadline; ) {
      queued = ((await twitter()) as { result: number }).result;
      for (const token of tokens)
        await post(server.url, { jsonrpc: "2.0", id: 3, method: "berrymq.getNowait", params: { token } });
    }
    assert.equal(queued, QUEUES, "every copy queued again once the unread answer is gone");
  });

  it("a pipelined answer queued behind another when its connection dies gives its count back (it gets no 'close')", async () => {
    // Four 1 MB copies in each queue: ~64 MB, just under 64 MiB, only if nothing else is counted.
    const refill = async (): Promise<number> => {
      let queued = 0;
      for (let i = 0; i < 4; i++) {
        const params = { token: sender, identifier: "big:x", args: ["x".repeat(1_000_000)] };
        queued += (
          (await post(server.url, { jsonrpc: "2.0", id: 1, method: "berrymq.twitter", params })).body as { result: number }
        ).result;
      }
      return queued;
    };
    const drain = async (): Promise<void> => {
      for (const token of tokens) {
        let left = true;
        while (left) {
          const taken = await post(server.url, { jsonrpc: "2.0", id: 4, method: "berrymq.getNowait", params: { token } });
          left = "result" in (taken.body as object);
        }
      }
    };
    await drain();
    assert.equal(await refill(), 4 * QUEUES);
    // Three batches in one write: the first answer is sent (and read a little), the second waits behind it
    // with 16 MB, the third with a few.
    const body = JSON.stringify(
      tokens.map((token, id) => ({ jsonrpc: "2.0", id, method: "berrymq.getNowait", params: { token } })),
    );
    const request = `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const socket = connect(server.port, "127.0.0.1");
    socket.on("error", () => {});
    const started = new Promise<void>((resolve) =>
      socket.once("data", () => {
        socket.pause();
        resolve();
      }),
    );
    socket.write(request.repeat(3));
    await started;
    await new Promise((resolve) => setTimeout(resolve, 300));
    socket.destroy();
    let queued = 0;
    for (const deadline = Date.now() + 5_000; queued !== 4 * QUEUES && Date.now() < deadline; ) {
      await drain();
      queued = await refill();
    }
    assert.equal(queued, 4 * QUEUES, "the whole budget back once the connection is gone");
  });
});
