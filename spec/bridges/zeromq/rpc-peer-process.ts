// A child process running fixtures/rpc-peer-child.ts (an RpcServer or RpcClient), for the specs where a
// process must die: resolves once the child prints "ready", rejects if it exits before.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const PEER = fileURLToPath(new URL("./fixtures/rpc-peer-child.ts", import.meta.url));

/** Starts `rpc-peer-child.ts` with `args` (e.g. `["server", port]`). */
export function startRpcPeer(args: readonly string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", PEER, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`rpc peer exited (${code}) before it was ready`)));
    child.stdout?.on("data", (chunk: Buffer) => {
      if (!chunk.toString().includes("ready")) return;
      child.removeAllListeners("exit");
      resolve(child);
    });
  });
}
