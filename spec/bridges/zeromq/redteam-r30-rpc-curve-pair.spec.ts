// r30 red team, RPC CURVE: keys were checked one by one (40 Z85 characters), never as a pair. A client
// given its public key and another pair's secret key (or the two swapped) failed every handshake, and was
// told RpcAuthError "connection closed during the CURVE handshake: wrong server key?"; a server so
// configured refused every client the same way. Now a public key that is not the secret key's is refused
// before any socket exists, naming curve.publicKey.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "../../../lib/errors.js";
import { curveKeyPair, RpcClient, RpcServer } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";

const names = (error: unknown): boolean => error instanceof InvalidArgumentError && /curve\.publicKey/.test(error.message);

describe("zeromq RPC red team r30: CURVE keys that are no pair", () => {
  it("a client whose public key is not its secret key's is refused, naming curve.publicKey", async () => {
    const server = curveKeyPair();
    const mine = curveKeyPair();
    const other = curveKeyPair();
    const port = await freePort();
    for (const curve of [
      { serverKey: server.publicKey, publicKey: mine.publicKey, secretKey: other.secretKey },
      { serverKey: server.publicKey, publicKey: mine.secretKey, secretKey: mine.publicKey },
    ])
      assert.throws(() => RpcClient.connect({ port, curve }), names);
  });

  it("so is a server's, and a true pair still serves", async (t) => {
    const keys = curveKeyPair();
    const client = curveKeyPair();
    await assert.rejects(
      RpcServer.listen({
        port: await freePort(),
        curve: { publicKey: keys.publicKey, secretKey: curveKeyPair().secretKey, allow: [client.publicKey] },
      }),
      names,
    );
    const server = await RpcServer.listen({ port: await freePort(), curve: { ...keys, allow: [client.publicKey] } });
    server.register("ping", () => "pong");
    const rpc = RpcClient.connect({ port: server.port, curve: { serverKey: keys.publicKey, ...client } });
    t.after(() => {
      rpc.close();
      server.close();
    });
    assert.equal(await rpc.call("ping"), "pong");
  });
});
