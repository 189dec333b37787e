// Starts spec/bridges/jsonrpc/fixtures/peer-process.ts as a child process and follows what it prints.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { waitFor } from "../../helpers/wait-for.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/peer-process.ts", import.meta.url));
const LEGACY_FIXTURE = fileURLToPath(new URL("./fixtures/legacy-node.ts", import.meta.url));

/** One JSON line the child printed. */
export interface PeerEvent {
  event: string;
  id?: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  messageId?: string;
  hops?: string[];
  url?: string;
  code?: string;
  message?: string;
  rss?: number;
}

/** A child process running a bus, a bridge server and peer links. */
export interface PeerProcess {
  readonly url: string;
  readonly events: PeerEvent[];
  /** Messages its bus dispatched (own and received). */
  messages(id?: string): PeerEvent[];
  command(command: Record<string, unknown>): void;
  /** Closes it gracefully and waits for the exit. */
  stop(): Promise<void>;
  /** SIGKILLs it, as a crash would. */
  kill(): Promise<void>;
  /** SIGSTOPs it: it stops pinging, sending and answering, as a hung process would (resume with `resume`). */
  pause(): void;
  /** SIGCONTs a paused process. */
  resume(): void;
}

/** Spawns the berrymq fixture with `config` and resolves once its server listens. */
export function startPeer(config: Record<string, unknown>): Promise<PeerProcess> {
  return startChild(FIXTURE, config, `peer ${String(config.busId)}`);
}

/** Spawns the berryMQ 0.3 stand-in (fixtures/legacy-node.ts) and resolves once it listens (and interconnected its `peers`). */
export function startLegacyNode(config: Record<string, unknown>): Promise<PeerProcess> {
  return startChild(LEGACY_FIXTURE, config, "berryMQ 0.3 stand-in");
}

async function startChild(fixture: string, config: Record<string, unknown>, label: string): Promise<PeerProcess> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", fixture, JSON.stringify(config)], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const events: PeerEvent[] = [];
  let stderr = "";
  let buffered = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    let newline = buffered.indexOf("\n");
    while (newline >= 0) {
      events.push(JSON.parse(buffered.slice(0, newline)) as PeerEvent);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf("\n");
    }
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    await Promise.race([
      waitFor(() => events.some((e) => e.event === "ready"), `${label} ready`, 15_000),
      exited.then(() => {
        throw new Error(`${label} exited early: ${stderr}`);
      }),
    ]);
  } catch (error) {
    // A child not ready in time (a loaded machine) would outlive the failed spec and hold its file's
    // process until the runner's timeout (300 s in CI of r29's tries).
    child.kill("SIGKILL");
    throw error;
  }
  const url = events.find((e) => e.event === "ready")?.url as string;
  return {
    url,
    events,
    messages: (id) => events.filter((e) => e.event === "message" && (id === undefined || e.id === id)),
    command: (command) => void child.stdin?.write(`${JSON.stringify(command)}\n`),
    pause: () => void child.kill("SIGSTOP"),
    resume: () => void child.kill("SIGCONT"),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // A paused child would never read the close command.
      child.kill("SIGCONT");
      child.stdin?.write(`${JSON.stringify({ cmd: "close" })}\n`);
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
}
