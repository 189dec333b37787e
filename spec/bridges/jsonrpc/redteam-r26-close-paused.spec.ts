// PeerLink.close() against a far side paused (SIGSTOP) with a batch in flight on the link stream: once
// close() has reported the batch undelivered, the link sends it no other way (a POST after the stream
// closed went out past the close deadline, with a 30 s timeout that held the process), and nothing holds
// the process past close(). RpcEndpoint.close() ends calls in flight and refuses later ones.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { type AddressInfo, connect, createServer as createTcpServer, type Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { EndpointClosedError, RpcEndpoint } from "../../../bridges/jsonrpc/index.js";
import { settlesWithin, sleep, waitFor } from "../../helpers/wait-for.js";
import { type PeerProcess, startPeer } from "./peer-process.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/close-paused-peer.ts", import.meta.url));

// A forwarder to 127.0.0.1:`target` that keeps every byte sent towards it, per connection.
async function recorder(target: number): Promise<{ port: number; sent: string[]; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const sent: string[] = [];
  const server = createTcpServer((client) => {
    const index = sent.push("") - 1;
    const upstream = connect(target, "127.0.0.1");
    sockets.add(client).add(upstream);
    client.on("data", (chunk: Buffer) => {
      sent[index] += chunk.toString();
    });
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      from.on("error", () => to.destroy());
      from.on("close", () => to.destroy());
      from.pipe(to);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    sent,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe("PeerLink.close() with its far side paused (SIGSTOP)", () => {
  let far: PeerProcess | undefined;
  after(async () => {
    await far?.stop();
  });

  it("sends what it reported undelivered no other way, and its process exits promptly", async () => {
    far = await startPeer({ busId: "far" });
    const forwarder = await recorder(Number(new URL(far.url).port));
    const near = spawn(process.execPath, ["--import", "tsx", FIXTURE, `http://127.0.0.1:${forwarder.port}/`], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    near.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    near.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => near.once("exit", (code) => resolve(code)));
    try {
      await waitFor(() => out.includes('"ready"'), `the near process to stream (${err})`, 15_000);
      far.pause();
      near.stdin.write("close\n");
      await waitFor(() => out.includes('"closed"'), "close() to return", 15_000);
      const closed = JSON.parse(out.trim().split("\n").at(-1) as string) as {
        ms: number;
        undelivered: string[];
        reported: string[];
      };
      assert.deepEqual(closed.undelivered, ["app:lost"]);
      assert.ok(closed.reported.includes("LinkUndeliveredError"), `reported: ${closed.reported.join(", ")}`);
      // The far side still paused: nothing (a POST of the batch, its 30 s deadline) may hold the process.
      assert.ok(await settlesWithin(exited, 5_000), "the near process still runs 5 s after close() returned");
      assert.equal(await exited, 0, err);
      // The batch went on the stream only: never as a berrymq.send POST, the stream's fallback.
      const posted = forwarder.sent.filter((bytes) => /"berrymq\.send".*app:lost/s.test(bytes));
      assert.equal(posted.length, 0, "the batch reported undelivered was POSTed after all");
      assert.ok(
        forwarder.sent.some((bytes) => bytes.includes("app:lost")),
        "the batch was in flight on the stream",
      );
      // What the paused process had received before the close is its to take (TCP cannot take it back):
      // at most once.
      far.resume();
      await sleep(1_000);
      assert.ok(far.messages("app:lost").length <= 1);
    } finally {
      near.kill("SIGKILL");
      await forwarder.close();
    }
  });
});

describe("RpcEndpoint.close()", () => {
  it("ends a call in flight at once and refuses later calls without opening a connection", async () => {
    const requests: IncomingMessage[] = [];
    const held: ServerResponse[] = [];
    // A server that takes requests and never answers, as a paused process would not.
    const server = createServer((req, res) => {
      requests.push(req);
      held.push(res);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const endpoint = new RpcEndpoint(url, { timeout: 60_000 });
      const settled = endpoint.call("berrymq.ping", {}).then(
        () => "answered",
        (error: unknown) => error,
      );
      await waitFor(() => requests.length === 1, "the call to reach the server");
      endpoint.close();
      assert.ok(await settlesWithin(settled, 1_000), "the call in flight still waits after close()");
      const error = await settled;
      assert.ok(error instanceof EndpointClosedError, String(error));
      assert.ok(error.message.includes(url), error.message);
      await assert.rejects(endpoint.call("berrymq.ping", {}), EndpointClosedError);
      await assert.rejects(endpoint.post("{}"), EndpointClosedError);
      await sleep(200);
      assert.equal(requests.length, 1, "a call after close() reached the server");
    } finally {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
