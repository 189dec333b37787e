import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { Redis } from "ioredis";
import { startRedis } from "../../helpers/redis-server.js";

describe("redis-server spec helper", () => {
  it("fails with install instructions when the redis-server binary is missing", async () => {
    await assert.rejects(startRedis({ binary: "/nonexistent/redis-server", own: true }), /apt-get install redis-server.*REDIS_URL/);
  });

  it("starts its own server on a free port (never 6379), restarts it with its AOF data, and stops it", async () => {
    const server = await startRedis({ aof: true, own: true });
    assert.notEqual(server.port, 6379);
    const client = new Redis(server.url, { maxRetriesPerRequest: null });
    client.on("error", () => {});
    await client.set("kept", "yes");
    await server.restart();
    assert.equal(await client.get("kept"), "yes");
    client.disconnect();
    await server.stop();
  });
});

describe("redis-server spec helper: no orphans", () => {
  it("a server outlives no spec process: SIGKILL of the process that started it kills it within seconds", async () => {
    const helper = new URL("../../helpers/redis-server.ts", import.meta.url).pathname;
    const code = `const { startRedis } = await import(${JSON.stringify(helper)}); const s = await startRedis({ own: true }); console.log(s.pid); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
    const pid = Number(await new Promise<string>((resolve) => child.stdout.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()))));
    assert.ok(Number.isInteger(pid) && pid > 0, `no pid printed: ${pid}`);
    assert.ok(alive(pid), "the server runs");
    child.kill("SIGKILL");
    const deadline = Date.now() + 5_000;
    while (alive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const orphaned = alive(pid);
    if (orphaned) process.kill(pid, "SIGKILL");
    assert.equal(orphaned, false, `redis-server ${pid} still ran 5 s after the process that started it was killed`);
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
