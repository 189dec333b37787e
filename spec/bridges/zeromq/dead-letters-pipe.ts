// `berrymq broker dead-letters FILE | head -1`, for the r27 specs of a listing whose reader goes away: a
// file of dead letters, and the listing run with its stdout closed once the first chunk came.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../../../bridges/cli/main.ts", import.meta.url));

/** Writes `count` dead letters (m0, m1, …), then `tail`, to `file`. */
export function writeDeadLetters(file: string, count: number, tail = ""): void {
  let text = "";
  for (let i = 0; i < count; i++) {
    text += `${JSON.stringify({ messageId: `m${i}`, identifier: "a:b", senderId: "0123456789abcdef", payload: "[]", reason: "expired", heldAt: 1, deadAt: 2 })}\n`;
  }
  writeFileSync(file, text + tail);
}

/** Runs `berrymq broker dead-letters file`, its stdout destroyed at its first chunk; its exit code and stderr. */
export async function listIntoHead(file: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, "broker", "dead-letters", file], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout.once("data", () => child.stdout.destroy()); // as `head -1` does once it has its line
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { code, stderr };
}
