// Shared timing helpers for the benchmarks (never used by specs: speed is measured here only).
import { cpus } from "node:os";

/** One measured figure. */
export interface Rate {
  label: string;
  perSecond: number;
}

/**
 * Runs `round` (which processes `count` items and resolves when done) `rounds` times after one warm-up
 * round, and returns the best rate: the least disturbed by GC and the other core's load.
 */
export async function measure(label: string, count: number, round: () => void | Promise<void>, rounds = 5): Promise<Rate> {
  await round();
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < rounds; i++) {
    globalThis.gc?.();
    const started = process.hrtime.bigint();
    await round();
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e9);
  }
  return { label, perSecond: count / best };
}

/** Formats a rate as messages per second with thousands separators. */
export function formatRate(perSecond: number): string {
  return Math.round(perSecond).toLocaleString("en-US");
}

/** A line describing the machine, for results tables. */
export function machine(): string {
  const cpu = cpus()[0]?.model ?? "unknown CPU";
  return `${cpu}, ${cpus().length} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
}

/** Prints rows as a Markdown table. */
export function printTable(header: string[], rows: string[][]): void {
  console.log(`| ${header.join(" | ")} |`);
  console.log(`|${header.map(() => "---").join("|")}|`);
  for (const row of rows) console.log(`| ${row.join(" | ")} |`);
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/**
 * Sends `messages` through `send` (names round robin, `perTurn` a turn of the event loop), then waits for
 * `done`; `timer` (the caller's give-up timer) is cleared either way.
 * @returns the seconds it took and this process's CPU per message, µs.
 */
export async function pacedRound(
  send: (name: string, i: number) => void,
  workload: { messages: number; perTurn: number },
  names: readonly string[],
  done: Promise<void>,
  timer: NodeJS.Timeout | undefined,
): Promise<{ seconds: number; nodeCpuUs: number }> {
  const nodeBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < workload.messages; i++) {
    send(names[i % names.length] as string, i);
    if ((i + 1) % workload.perTurn === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  try {
    await done;
  } finally {
    clearTimeout(timer);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const node = process.cpuUsage(nodeBefore);
  return { seconds, nodeCpuUs: (node.user + node.system) / workload.messages };
}
