// Starts spec/bridges/fixtures/request-peer.ts as a child process (a bus linked back to the parent).
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const FIXTURE = fileURLToPath(new URL("./fixtures/request-peer.ts", import.meta.url));

/** A child process running a bus with the request fixtures' followers. */
export interface RequestPeer {
  readonly pid: number;
  /** Its bridge server's URL, when it serves (config `transport: "jsonrpc-server"`). */
  readonly url: string | undefined;
  /** SIGKILLs it, as a crash would, and waits for the exit. */
  kill(): Promise<void>;
  /** SIGTERMs it (it closes its link) and waits for the exit; SIGKILL after 5 s. */
  stop(): Promise<void>;
}

/** A started child, as {@link startRequestPeer} returns it. */
export interface StartedRequestPeer extends RequestPeer {
  /** The events it printed so far, in order ("ready"; "closed", "served" on SIGUSR2 with jsonrpc-server). */
  readonly events: readonly string[];
  /** Sends it `signal` (SIGUSR2: a "jsonrpc-server" child closes its server for `downMs`, then serves again). */
  signal(signal: NodeJS.Signals): void;
}

/** Spawns the fixture with `config` and resolves once it is linked. */
export async function startRequestPeer(config: Record<string, unknown>): Promise<StartedRequestPeer> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", FIXTURE, JSON.stringify(config)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let url: string | undefined;
  const events: string[] = [];
  let rest = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`request peer ${String(config.busId)} not ready after 20 s: ${stderr}`));
    }, 20_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split("\n");
      rest = lines.pop() as string;
      for (const line of lines) {
        const printed = JSON.parse(line) as { event: string; url?: string };
        events.push(printed.event);
        if (printed.event !== "ready") continue;
        url = printed.url;
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`request peer ${String(config.busId)} exited early: ${stderr}`));
    });
  });
  const done = (): boolean => child.exitCode !== null || child.signalCode !== null;
  return {
    pid: child.pid as number,
    url,
    events,
    signal: (signal) => void child.kill(signal),
    kill: async () => {
      if (done()) return;
      child.kill("SIGKILL");
      await exited;
    },
    stop: async () => {
      if (done()) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
