// Requests that reach a bridge server while it closes: sent on a kept-alive socket after a long-poll
// there was ended by close(), they must not open sessions (queues, links back) that nothing closes.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { sleep } from "../../helpers/wait-for.js";

function httpRequest(port: number, body: unknown): string {
  const text = JSON.stringify(body);
  return `POST / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
}

describe("bridge server closing", () => {
  it("requests sent on a kept-alive socket while the server closes are refused (-32012) and open nothing that outlives it", async () => {
    const bus = new Bus({ id: "closing-pipe" });
    const server = await serve({ bus });
    const connectAnswer = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "berrymq.connect",
        params: { style: "queue", filter: "wait:*", ttl: 60 },
      }),
    });
    const { token } = ((await connectAnswer.json()) as { result: { token: string } }).result;
    const port = server.port;
    const socket = connect(port, "127.0.0.1");
    let received = "";
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString();
    });
    socket.on("error", () => {});
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write(httpRequest(port, { jsonrpc: "2.0", id: 2, method: "berrymq.get", params: { token } }));
    await sleep(200); // the long-poll waits
    const closed = server.close();
    while (!received.includes("QUEUE_CLOSED")) await sleep(1);
    // The kept-alive socket is still open: the client sends on, as a busy client would.
    socket.write(
      httpRequest(port, {
        jsonrpc: "2.0",
        id: 3,
        method: "berrymq.connect",
        params: { style: "queue", filter: "leak:*", ttl: 60 },
      }) + httpRequest(port, { id: null, method: "connect_via_queue", params: ["leak2:*", 60] }),
    );
    await closed;
    await sleep(100);
    socket.destroy();
    const leaked = bus
      .patterns()
      .map((p) => p.id)
      .filter((id) => id.startsWith("leak"));
    assert.deepEqual(
      leaked,
      [],
      `queues opened after close() stay on the bus; answers: ${received.replace(/\r\n/g, " ").slice(0, 600)}`,
    );
    assert.equal(server.connections, 0, "no session outlives close()");
    assert.match(received, /Connection: close/i, "the long-poll's answer tells the socket to close");
    // What was sent on is either never read (the socket closed) or refused as ServerClosing: never a token.
    assert.doesNotMatch(received, /"result"/);
    if (received.includes('"id":3')) assert.match(received, /HTTP\/1\.1 503[\s\S]*-32012/);
    bus.close();
  });

  it("a request whose body was still arriving when close() began answers ServerClosing (-32012) and opens nothing", async () => {
    const bus = new Bus({ id: "closing-body" });
    const server = await serve({ bus });
    const port = server.port;
    const socket = connect(port, "127.0.0.1");
    let received = "";
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString();
    });
    socket.on("error", () => {});
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    const whole = httpRequest(port, { id: null, method: "connect_via_queue", params: ["late:*", 60] });
    socket.write(whole.slice(0, -5));
    await sleep(100);
    const closed = server.close();
    await sleep(20);
    const socketClosed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.write(whole.slice(-5));
    await closed;
    await socketClosed; // everything the server wrote has been read
    socket.destroy();
    assert.deepEqual(
      bus
        .patterns()
        .map((p) => p.id)
        .filter((id) => id.startsWith("late")),
      [],
      received,
    );
    assert.equal(server.connections, 0);
    assert.match(received, /-32012/);
    bus.close();
  });
});
