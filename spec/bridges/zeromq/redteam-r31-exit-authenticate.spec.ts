// Red team r31: an RpcServer whose `authenticate` hook never settles (a user store that hangs), a client
// logging in meanwhile. Once both were closed the process still ran for the hook's `authenticateTimeout`
// (5 s by default; as long as the option says): the timer that bounds the hook was ref'd, and nothing
// cleared it at close(). It only guards the hook now (unref'd). The child (this file, with
// R31_AUTH_HUNG set) must exit by itself within EXIT_BOUND ms of its last close().
import assert from "node:assert/strict";
import { it } from "node:test";
import { RpcClient } from "../../../bridges/zeromq/rpc-client.js";
import { RpcServer } from "../../../bridges/zeromq/rpc-server.js";
import { runSelf } from "../../helpers/self-child.js";
import { sleep } from "../../helpers/wait-for.js";

const CHILD = "R31_AUTH_HUNG";
// Before the fix the child exited about 4,500 ms after its close() (the default 5 s, less the 500 ms below).
const EXIT_BOUND = 1_500;

if (process.env[CHILD] !== undefined) {
  const server = await RpcServer.listen({ port: 0, plain: true, authenticate: () => new Promise<undefined>(() => {}) });
  const client = RpcClient.connect({ port: server.port, identity: "worker", plain: { username: "alice", password: "secret" } });
  const calling = client.call("status").catch((error: unknown) => (error as Error).name);
  await sleep(500); // the hook is running
  client.close();
  server.close();
  console.log(JSON.stringify({ call: await calling }));
} else {
  it("red team: closed while its authenticate hook hangs, an RpcServer lets the process exit", { timeout: 20_000 }, async () => {
    const { out, err, code, exitAfter } = await runSelf(import.meta.url, { [CHILD]: "1" }, (text) => text.includes("\n"), 15_000);
    assert.match(out, /"call":"RpcClosedError"/, `close() ended the call: ${out}${err}`);
    assert.equal(code, 0, `the child exited ${String(code)}: ${err}`);
    assert.ok(exitAfter < EXIT_BOUND, `the child exited ${Math.round(exitAfter)} ms after its close()`);
  });
}
