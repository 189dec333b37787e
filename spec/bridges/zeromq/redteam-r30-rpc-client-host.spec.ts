// r30 red team, RpcClient: a host ZeroMQ refuses at once (a space or a slash in it: "Invalid argument")
// threw zeromq's untyped Error out of RpcClient.connect, and the DEALER made before the connect stayed open:
// the process never exited. BrokerLink said it as InvalidArgumentError and closed its sockets; RpcClient now
// does the same. The child process is the spec's own module (runSelf): only a whole process shows the hang.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "../../../lib/errors.js";
import { RpcClient } from "../../../bridges/zeromq/index.js";
import { runSelf } from "../../helpers/self-child.js";

if (process.env.BERRYMQ_R30_BAD_HOST !== undefined) {
  try {
    RpcClient.connect({ port: 5555, host: process.env.BERRYMQ_R30_BAD_HOST });
    console.log("connected?");
  } catch (error) {
    const named = error instanceof InvalidArgumentError && error.message.includes("host");
    console.log(
      `refused: ${error instanceof Error ? error.constructor.name : typeof error} ${named ? "naming host" : String(error)}`,
    );
  }
} else {
  describe("zeromq RPC red team r30: a host ZeroMQ refuses", () => {
    for (const host of ["no such host", "a/b"]) {
      it(`RpcClient.connect({ host: ${JSON.stringify(host)} }) throws InvalidArgumentError naming it, and the process still exits`, async () => {
        const run = await runSelf(import.meta.url, { BERRYMQ_R30_BAD_HOST: host }, (out) => out.includes("refused"), 15_000);
        assert.match(run.out, /refused: InvalidArgumentError naming host/, run.out + run.err);
        assert.equal(run.code, 0, `the child exits by itself (code ${String(run.code)})`);
      });
    }
  });
}
