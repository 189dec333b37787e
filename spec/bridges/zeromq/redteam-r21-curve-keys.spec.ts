// Red team r21, RPC: a malformed CURVE key is refused with InvalidArgumentError before any socket exists.
// "#" x 40 is 40 characters of the Z85 alphabet, so it passed the old check; libzmq refused it (EINVAL)
// inside zeromq.js's socket constructor, and the half-built socket crashed the process (SIGSEGV) at exit.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";

const CHILD = fileURLToPath(new URL("./fixtures/redteam-r21-bad-key.ts", import.meta.url));

describe("zeromq RPC red team r21: malformed CURVE keys", () => {
  for (const [side, option] of [
    ["server", "curve.publicKey"],
    ["client", "curve.secretKey"],
  ] as const) {
    it(`an RpcServer/RpcClient (${side}) with a key decoding past 32 bits throws InvalidArgumentError; the process exits normally`, () => {
      const run = spawnSync(process.execPath, ["--import", "tsx", CHILD, side], { encoding: "utf8", timeout: 30_000 });
      assert.equal(run.signal, null, `the process was killed by ${run.signal}`);
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`InvalidArgumentError: invalid ${option.replace(".", "\\.")}`));
    });
  }
});
