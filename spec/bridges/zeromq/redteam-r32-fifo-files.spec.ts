// r32 red team: a FIFO where the broker's persist file or dead-letter file should be (a mistake of a
// deployment script, or `mkfifo` by anyone who can write the directory). Opened and read synchronously, the
// persist file's FIFO blocked the broker's start for good (no writer: no error, no exit); the dead-letter
// file's took the broker's whole thread once a dead letter filled the pipe; a FIFO as the persist file's
// lock blocked the start too. A broker child, so a hang cannot take the spec's own process with it.
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it, type TestContext } from "node:test";
import { toCompactEnvelope } from "../../../bridges/compact-envelope.js";
import { toEnvelope } from "../../../bridges/envelope.js";
import { createMessage } from "../../../lib/message.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { rawClient } from "./broker-helpers.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/broker-child.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "berrymq-r32-fifo-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function fifo(name: string): string {
  const path = join(dir, name);
  execFileSync("mkfifo", [path]);
  return path;
}

// A broker child: what it printed, and its exit code once it exited (undefined while it runs).
function brokerChild(t: TestContext, ports: { pubPort: number; recvPort: number }, persistFile: string, more: object) {
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", FIXTURE, String(ports.pubPort), String(ports.recvPort), persistFile, "100", JSON.stringify(more)],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const state = { out: "", err: "", exit: undefined as number | undefined };
  child.stdout?.on("data", (chunk: Buffer) => {
    state.out += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    state.err += chunk.toString();
  });
  child.once("exit", (code) => {
    state.exit = code ?? -1;
  });
  t.after(() => void child.kill("SIGKILL"));
  return state;
}

describe("zeromq broker: a FIFO for its persist or dead-letter file (r32)", () => {
  it("refuses to start on a FIFO persist file (PersistError), rather than blocking for good", { timeout: 20_000 }, async (t) => {
    const ports = { pubPort: await freePort(), recvPort: await freePort() };
    const child = brokerChild(t, ports, fifo("acks.log"), {});
    await waitFor(() => child.exit !== undefined, "the broker child to end", 10_000);
    assert.notEqual(child.exit, 0);
    assert.match(child.err, /a FIFO is at its path/);
  });

  it("refuses to start on a persist file whose lock is a FIFO", { timeout: 20_000 }, async (t) => {
    const ports = { pubPort: await freePort(), recvPort: await freePort() };
    const file = join(dir, "acks-lock.log");
    fifo("acks-lock.log.lock");
    const child = brokerChild(t, ports, file, {});
    await waitFor(() => child.exit !== undefined, "the broker child to end", 10_000);
    assert.notEqual(child.exit, 0);
    assert.match(child.err, /is not a regular file/);
  });

  it("refuses to start on a FIFO dead-letter file", { timeout: 20_000 }, async (t) => {
    const ports = { pubPort: await freePort(), recvPort: await freePort() };
    const child = brokerChild(t, ports, join(dir, "acks-2.log"), { deadLetterFile: fifo("dead-2.jsonl") });
    await waitFor(() => child.exit !== undefined, "the broker child to end", 10_000);
    assert.notEqual(child.exit, 0);
    assert.match(child.err, /a FIFO is at its path/);
  });

  it("keeps serving when its dead-letter file is replaced by a FIFO while it runs", { timeout: 20_000 }, async (t) => {
    const ports = { pubPort: await freePort(), recvPort: await freePort() };
    const letters = join(dir, "dead-3.jsonl");
    const child = brokerChild(t, ports, join(dir, "acks-3.log"), { deadLetterFile: letters, expiry: 50 });
    await waitFor(() => child.out.includes("ready"), "the broker child ready", 10_000);
    renameSync(fifo("dead-3.fifo"), letters);
    const raw = await rawClient(ports.pubPort, ports.recvPort, "00000000000000c1");
    t.after(() => raw.close());
    // A HELLO until welcomed: the first welcome may go before the client's SUB is connected.
    const welcomed = async (patterns: string[], version: number): Promise<boolean> => {
      for (let attempt = 0; attempt < 10; attempt++) {
        await raw.hello(patterns, version);
        await sleep(500);
        if (raw.welcomes.includes(String(version))) return true;
      }
      return false;
    };
    assert.ok(await welcomed(["none:none"], 1), "the first welcome");
    // A dead letter larger than a pipe holds (64 KiB).
    const messageId = "raw/big";
    const line = JSON.stringify(
      toCompactEnvelope(toEnvelope(createMessage({ identifier: "job:run", args: ["x".repeat(100_000)], messageId, hops: ["raw"] }))),
    );
    await raw.dealer.send(["P", JSON.stringify(["1", "", "job:run", messageId, 1]), line]);
    await sleep(1_000); // expired (50 ms) and swept (every 50 ms) many times over
    assert.ok(await welcomed(["none:more"], 2), "a welcome from a broker still serving");
    assert.match(child.err, /a FIFO is at its path/);
    assert.equal(child.exit, undefined);
  });
});
