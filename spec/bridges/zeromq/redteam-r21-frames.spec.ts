// Red team r21, RPC: a frame far over maxMessageBytes must not be read into memory at all. libzmq
// allocates a frame whole from its header and zeromq.js hands it over as one Buffer, so without a
// transport limit a peer could make either end hold any size it declares (a 64 MiB frame here).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import type { BerryError } from "../../../lib/errors.js";
import { RpcClient, RpcServer } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep } from "../../helpers/wait-for.js";

const HUGE = Buffer.alloc(64 * 1_048_576, 0x20);

describe("zeromq RPC red team r21: huge frames", () => {
  it("the server drops a connection that sends a frame far over maxMessageBytes, unread; others are served", async (t) => {
    const server = await RpcServer.listen({ port: await freePort() });
    server.register("ping", () => "pong");
    const errors: BerryError[] = [];
    server.on("error", (error) => void errors.push(error));
    const attacker = new zmq.Dealer({ routingId: "huge", linger: 0 });
    attacker.connect(`tcp://127.0.0.1:${server.port}`);
    const client = RpcClient.connect({ port: server.port, callTimeout: 3_000 });
    t.after(() => {
      client.close();
      attacker.close();
      server.close();
    });
    await attacker.send(["rpc", HUGE]);
    assert.equal(await client.call("ping"), "pong");
    await sleep(500);
    const read = errors.filter((error) => /over maxMessageBytes/.test(error.message));
    assert.deepEqual(
      read.map((error) => error.message),
      [],
      "the 64 MiB frame was never read (libzmq cut the connection)",
    );
  });

  it("the client drops a server that sends it a frame far over maxMessageBytes, unread", async (t) => {
    const port = await freePort();
    const hostile = new zmq.Router({ linger: 0 });
    await hostile.bind(`tcp://127.0.0.1:${port}`);
    const client = RpcClient.connect({ port, identity: "victim", callTimeout: 2_000 });
    const errors: BerryError[] = [];
    client.on("error", (error) => void errors.push(error));
    t.after(() => {
      client.close();
      hostile.close();
    });
    const [identity] = await hostile.receive(); // the client's first heartbeat
    await hostile.send([identity as Buffer, "rpc", HUGE]);
    await sleep(1_000);
    const read = errors.filter((error) => /over maxMessageBytes/.test(error.message));
    assert.deepEqual(
      read.map((error) => error.message),
      [],
      "the 64 MiB frame was never read",
    );
  });
});
