import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { freePort } from "../helpers/free-port.js";

// The specs' port helper: CI of r28 failed once with a broker's two sockets given the same port.
describe("spec helper freePort", () => {
  it("never hands out one port twice in a process", async () => {
    const ports = new Set<number>();
    for (let i = 0; i < 3_000; i++) {
      const port = await freePort();
      assert.ok(!ports.has(port), `port ${port} handed out twice`);
      ports.add(port);
    }
  });

  it("never hands out a port another living process holds from it", async () => {
    const script = `import { freePort } from ${JSON.stringify(new URL("../helpers/free-port.ts", import.meta.url).pathname)};
      const ports = []; for (let i = 0; i < 1500; i++) ports.push(await freePort());
      process.stdout.write(JSON.stringify(ports)); setTimeout(() => {}, 2000);`;
    const children = [0, 1].map(() => {
      const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
      });
      return new Promise<number[]>((resolve, reject) => {
        child.on("exit", (code) =>
          code === 0 ? resolve(JSON.parse(out) as number[]) : reject(new Error(`child exited ${code}`)),
        );
      });
    });
    const [first, second] = await Promise.all(children);
    assert.equal(first?.length, 1500);
    const taken = new Set(first);
    const both = (second ?? []).filter((port) => taken.has(port));
    assert.deepEqual(both, [], "ports handed out to both processes");
  });
});
