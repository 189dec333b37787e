// Red team r32: a client whose login was refused once (the hook threw for a moment: a database blip, a
// timeout) logs in again at its next heartbeat, and the server accepted that login; but the client kept
// the refusal, and every call failed with RpcAuthError for good, logged in as it was (server.users and
// client.userId said so). A login accepted now ends an earlier refusal, as a handshake that succeeds does.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { type Authenticate, RpcClient, type RpcClientOptions, RpcServer, type RpcServerOptions } from "../../../bridges/zeromq/index.js";
import { sleep } from "../../helpers/wait-for.js";

// A hook that throws at the first login of each user (a login frame is checked with address ""), then accepts.
function blipOnce(): Authenticate {
  const blipped = new Set<string>();
  return (_mechanism, { address, publicKey, username }) => {
    const who = publicKey ?? username ?? "";
    if (address === "" && !blipped.has(who)) {
      blipped.add(who);
      throw new Error("database blip");
    }
    return `user:${who.slice(0, 8)}`;
  };
}

async function answeredAfterBlip(
  t: { after(fn: () => void): void },
  server: Omit<RpcServerOptions, "port">,
  client: Omit<RpcClientOptions, "port">,
): Promise<unknown> {
  const rpc = await RpcServer.listen({ port: 0, ...server });
  rpc.on("error", () => {});
  rpc.register("ping", () => "pong");
  t.after(() => rpc.close());
  const caller = RpcClient.connect({ port: rpc.port, heartbeatInterval: 100, callTimeout: 2_000, ...client });
  caller.on("error", () => {});
  t.after(() => caller.close());
  const until = Date.now() + 5_000;
  for (;;) {
    const outcome = await caller.call("ping").catch((error: unknown) => error);
    if (outcome === "pong" || Date.now() > until) return outcome;
    await sleep(100);
  }
}

describe("red team r32: a login refused once, then accepted", () => {
  it("PLAIN: the client's calls are served once its next login is accepted", { timeout: 20_000 }, async (t) => {
    const outcome = await answeredAfterBlip(
      t,
      { plain: true, authenticate: blipOnce() },
      { plain: { username: "alice", password: "pw" } },
    );
    assert.equal(outcome, "pong", String(outcome));
  });

  it("CURVE with authenticate: the same", { timeout: 20_000 }, async (t) => {
    const keys = zmq.curveKeyPair();
    const outcome = await answeredAfterBlip(
      t,
      { curve: keys, authenticate: blipOnce() },
      { curve: { serverKey: keys.publicKey, ...zmq.curveKeyPair() } },
    );
    assert.equal(outcome, "pong", String(outcome));
  });
});
