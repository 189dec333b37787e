// Red team r25 (bounds): DurableChannel.open() never settled while Redis was unreachable: its commands
// wait through an outage (maxRetriesPerRequest null), it had no timeout and no signal, and returned no
// handle that could be ended: the process hung. RedisLink.connect rejects and the process exits. open()
// now rejects after connectTimeout (default 10 s, ioredis's) with ConnectTimeoutError naming the Redis it
// tried, or when its signal aborts, and closes what it opened. The opens run in a child process (this
// file, with R25_DURABLE_OPEN_CHILD set): the spec checks what they answer and that the process exits.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { it } from "node:test";
import { fileURLToPath } from "node:url";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { freePort } from "../../helpers/free-port.js";

const CHILD = "R25_DURABLE_OPEN_CHILD";

// In the child: opens against a port nothing listens on, once with a short connectTimeout and once with a
// signal aborted meanwhile; prints each outcome as a JSON line; then lets the process end by itself.
async function child(port: number): Promise<void> {
  const connection = `redis://:secret-password@127.0.0.1:${port}`;
  const outcome = async (opening: Promise<DurableChannel>): Promise<Record<string, unknown>> => {
    const started = performance.now();
    try {
      await opening;
      return { opened: true };
    } catch (error) {
      const { code, message, name } = error as { code?: string; message: string; name: string };
      return { code, message, name, after: Math.round(performance.now() - started) };
    }
  };
  // The outage is reported while open waits (an `error` nobody listens to yet goes to process warnings).
  process.on("warning", () => {});
  const timedOut = await outcome(DurableChannel.open("boot.1", { connection, connectTimeout: 500 }));
  console.log(JSON.stringify({ timedOut }));
  const controller = new AbortController();
  const aborting = outcome(DurableChannel.open("boot.2", { connection, connectTimeout: 60_000, signal: controller.signal }));
  setTimeout(() => controller.abort(new Error("given up by the caller")), 300);
  console.log(JSON.stringify({ aborted: await aborting }));
}

if (process.env[CHILD] !== undefined) {
  await child(Number(process.env[CHILD]));
} else {
  it("red team: DurableChannel.open() rejects within connectTimeout, or on its signal, while Redis is unreachable, and the process exits", {
    timeout: 60_000,
  }, async () => {
    const port = await freePort();
    const proc = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url)], {
      env: { ...process.env, [CHILD]: String(port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    proc.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    proc.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    const started = performance.now();
    // Bounded: before the fix the child never exits (its first open never settles).
    const exited = await new Promise<number | null | "hung">((resolve) => {
      const timer = setTimeout(() => {
        proc.kill("SIGKILL");
        resolve("hung");
      }, 30_000);
      proc.on("exit", (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    const lines = out
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, Record<string, unknown>>);
    assert.notEqual(exited, "hung", `the child process still ran after 30 s; it printed: ${out || "(nothing)"}`);
    assert.equal(exited, 0, err);
    const timedOut = lines.find((line) => line.timedOut !== undefined)?.timedOut;
    assert.equal(timedOut?.code, "CONNECT_TIMEOUT", JSON.stringify(timedOut));
    assert.equal(timedOut?.name, "ConnectTimeoutError");
    assert.match(String(timedOut?.message), new RegExp(`127\\.0\\.0\\.1:${port} within 500 ms`));
    assert.doesNotMatch(String(timedOut?.message), /secret-password/, "the error names the address, never the password");
    assert.ok(Number(timedOut?.after) >= 450 && Number(timedOut?.after) < 10_000, `rejected after ${timedOut?.after} ms`);
    const aborted = lines.find((line) => line.aborted !== undefined)?.aborted;
    assert.equal(aborted?.message, "given up by the caller", JSON.stringify(aborted));
    assert.ok(performance.now() - started < 30_000);
  });
}
