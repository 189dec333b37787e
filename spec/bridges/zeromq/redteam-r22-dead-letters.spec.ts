// Red team r22: the dead-letter file as a crash and an operator leave it, and the CLI that lists it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { appendFileSync, closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type DeadLetter, readDeadLetters } from "../../../bridges/zeromq/index.js";
import { acknowledgingSender, expiringBroker } from "./broker-helpers.js";
import { waitFor } from "../../helpers/wait-for.js";

const CLI = fileURLToPath(new URL("../../../bridges/cli/main.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "berrymq-r22-dead-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function letterLine(identifier: string, messageId: string): string {
  const letter: DeadLetter = {
    messageId,
    identifier,
    senderId: "0123456789abcdef",
    payload: "[]",
    reason: "expired",
    heldAt: 1_700_000_000_000,
    deadAt: 1_700_000_060_000,
  };
  return `${JSON.stringify(letter)}\n`;
}

function listDeadLetters(file: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, "broker", "dead-letters", file], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, stdout, stderr })));
}

describe("zeromq broker: red team r22 (dead-letter file)", () => {
  it("red team: after a crash tore the dead-letter file's last line, the next dead letter is still readable (it was glued to the torn line: lost from the file)", {
    timeout: 20_000,
  }, async (t) => {
    const deadLetterFile = join(dir, "torn.dead");
    // What a kill -9 in the middle of DeadLetterFile.append leaves: a whole letter, then a cut one.
    writeFileSync(deadLetterFile, `${letterLine("old:one", "old/1")}{"messageId":"old/2","identifier":"old:tw`);
    const { broker, letters } = await expiringBroker(deadLetterFile);
    const sender = await acknowledgingSender(broker);
    t.after(async () => {
      await sender.close();
      broker.close();
    });
    sender.bus.twitter("job:lost", "nobody takes it");
    await waitFor(() => letters.length === 1, "the message expired into a dead letter", 10_000);
    const unreadable: number[] = [];
    const inFile = readDeadLetters(deadLetterFile, ({ line }) => void unreadable.push(line)).map((l) => l.identifier);
    assert.deepEqual(inFile, ["old:one", "job:lost"], "the new dead letter is in the file, on a line of its own");
    assert.deepEqual(unreadable, [2], "the torn line is reported, not skipped in silence");
  });

  it("red team: `broker dead-letters` lists every good letter of a damaged file and names each bad line (a record without its dates stopped the listing with 'Invalid time value')", {
    timeout: 20_000,
  }, async () => {
    const file = join(dir, "damaged.dead");
    writeFileSync(
      file,
      letterLine("a:one", "a/1") +
        "garbage that is no JSON\n" +
        `${JSON.stringify({ messageId: "b/1", identifier: "b:one", deadAt: "yesterday" })}\n` +
        letterLine("c:one", "c/1"),
    );
    const { code, stdout, stderr } = await listDeadLetters(file);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /a:one/);
    assert.match(stdout, /c:one/, "the letter after the damaged ones is listed");
    assert.match(stdout, /2 dead letter\(s\) in .*; 2 unreadable line\(s\) skipped/);
    assert.match(stderr, /line 2 is no dead letter: not JSON/);
    assert.match(stderr, /line 3 is no dead letter: its senderId is not a string/);
  });

  it("red team: `broker dead-letters` lists a file larger than V8's longest string (~512 MiB; it read it whole and listed nothing)", {
    timeout: 30_000,
  }, async () => {
    const file = join(dir, "huge.dead");
    writeFileSync(file, letterLine("first:one", "f/1"));
    // 600 MiB of NUL bytes without a newline (sparse: no disk written), then a good letter on its own line.
    const fd = openSync(file, "r+");
    ftruncateSync(fd, 600 * 1024 * 1024);
    closeSync(fd);
    appendFileSync(file, `\n${letterLine("last:one", "l/1")}`);
    const { code, stdout, stderr } = await listDeadLetters(file);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /first:one/);
    assert.match(stdout, /last:one/);
    assert.match(stdout, /2 dead letter\(s\) in .*; 1 unreadable line\(s\) skipped/);
    assert.match(stderr, /line 2 is no dead letter: longer than \d+ bytes/);
  });
});
