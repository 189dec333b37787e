// The berrymq CLI (bridges/cli/main.ts) run as a child process through tsx, its output collected.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { settlesWithin } from "./wait-for.js";

const MAIN = fileURLToPath(new URL("../../bridges/cli/main.ts", import.meta.url));

/** A running CLI: its output so far, its exit, a signal to send it. */
export interface Running {
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
  signal(name: NodeJS.Signals): void;
}

/**
 * Starts `berrymq ...args` ($BERRYMQ_SECRET empty unless `env` sets it); its stdout collected, or written to
 * the file descriptor `stdout` (a file of the spec's: /dev/full), and stdout() then empty.
 */
export function cli(args: string[], env: Record<string, string> = {}, stdout: "pipe" | number = "pipe"): Running {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
    stdio: ["ignore", stdout, "pipe"],
    env: { ...process.env, BERRYMQ_SECRET: "", ...env },
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  return {
    stdout: () => out,
    stderr: () => err,
    exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))),
    signal: (name) => void child.kill(name),
  };
}

/** Runs `berrymq ...args` to its exit. */
export async function finished(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = cli(args, env);
  const code = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/**
 * Runs `berrymq ...args` to its exit, SIGKILLed after `ms` (a command that wrongly runs on, such as a serve
 * that took a bad option, must not hang the spec); `killed` says it had to be.
 */
export async function bounded(
  args: string[],
  env: Record<string, string> = {},
  // Generous: a CLI process starts in ~1 s, but took over 15 s under a load of 10 (r29).
  ms = 45_000,
): Promise<{ code: number | null; stdout: string; stderr: string; killed: boolean }> {
  const run = cli(args, env);
  const killed = !(await settlesWithin(run.exited, ms));
  if (killed) run.signal("SIGKILL");
  return { code: await run.exited, stdout: run.stdout(), stderr: run.stderr(), killed };
}
