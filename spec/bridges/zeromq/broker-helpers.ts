// Shared by the ZeroMQ specs: a broker child process that can be SIGKILLed and restarted.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const FIXTURE = fileURLToPath(new URL("./fixtures/broker-child.ts", import.meta.url));

/** A broker running in a child process. */
export interface BrokerChild {
  kill(): Promise<void>;
  /** Everything it printed on stdout so far. */
  output(): string;
}

/** Starts `fixtures/broker-child.ts` and resolves once it printed "ready". */
export function startBrokerChild(pubPort: number, recvPort: number, persistFile: string, more?: object): Promise<BrokerChild> {
  const args = [FIXTURE, String(pubPort), String(recvPort), persistFile, "200", ...(more === undefined ? [] : [JSON.stringify(more)])];
  const child = spawn(process.execPath, ["--import", "tsx", ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.once("exit", (code) => reject(new Error(`broker child exited (${code}) before it was ready: ${out}`)));
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("ready")) {
        child.removeAllListeners("exit");
        resolve({ kill: () => killHard(child), output: () => out });
      }
    });
  });
}

function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}
