// A spec file run again as a child process (the spec's own module, told what to do by an environment
// variable), for what only a whole process shows: whether it exits by itself once its work is done.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** What the child printed, how it ended, and how long after its outcome it exited. */
export interface SelfChildRun {
  out: string;
  err: string;
  /** Its exit code, or "hung" when it still ran after the bound (it was SIGKILLed then). */
  code: number | null | "hung";
  /** ms from when `printedOutcome` first held for its stdout to its exit (NaN if it never held). */
  exitAfter: number;
}

/**
 * Runs the module at `moduleUrl` (a spec's `import.meta.url`) in a child with `env` added, and waits for its
 * exit, at most `bound` ms (then SIGKILL, "hung"): a child that never exits fails its spec, not hang it.
 */
export function runSelf(
  moduleUrl: string,
  env: Record<string, string>,
  printedOutcome: (out: string) => boolean,
  bound = 30_000,
): Promise<SelfChildRun> {
  const proc = spawn(process.execPath, ["--import", "tsx", fileURLToPath(moduleUrl)], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  let printedAt: number | undefined;
  proc.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
    if (printedAt === undefined && printedOutcome(out)) printedAt = performance.now();
  });
  proc.stderr.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  return new Promise<SelfChildRun>((resolve) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      resolve({ out, err, code: "hung", exitAfter: Number.NaN });
    }, bound);
    proc.on("exit", (code) => {
      clearTimeout(timer);
      const exitAfter = printedAt === undefined ? Number.NaN : performance.now() - printedAt;
      resolve({ out, err, code, exitAfter });
    });
  });
}
