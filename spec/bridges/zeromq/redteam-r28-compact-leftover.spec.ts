// r28 red team: the persist file's compaction writes everything held to `<file>.compact`, then renames it
// over the log. A compaction that failed midway (a write cut short by a full disk; here a file size limit,
// `ulimit -f`, in a child process) left that temp file behind, holding disk space on a disk that may be
// full. It is removed on failure. A broker starting beside one left by a broker killed during a
// compaction starts from the log itself, nothing lost, and removes it first (the second test passed before
// the fix too: the compaction at start overwrote the leftover; it guards the restart).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Broker } from "../../../bridges/zeromq/index.js";
import { freePort } from "../../helpers/free-port.js";
import { heldInLog } from "../../helpers/persist-file.js";
import { startBrokerChild } from "./broker-helpers.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/r28-compact-limited.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "berrymq-r28-compact-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// A persist file holding `count` messages of about `size` bytes each, as a broker writes them.
function writeLog(file: string, count: number, size: number): string[] {
  const ids: string[] = [];
  let text = "";
  for (let i = 0; i < count; i++) {
    const messageId = `0123456789abcdef/${i}`;
    const payload = JSON.stringify(["job:run", ["x".repeat(size)], {}, messageId, 1]);
    text += `${JSON.stringify({ m: messageId, i: "job:run", s: "0123456789abcdef", p: payload, t: Date.now(), e: null })}\n`;
    ids.push(messageId);
  }
  writeFileSync(file, text);
  return ids;
}

describe("zeromq broker: the compaction's temp file (r28)", () => {
  it("a compaction whose write fails (a file size limit) removes its temp file; the log is left whole", () => {
    const file = join(dir, "limited.log");
    const ids = writeLog(file, 40, 1_000);
    const before = readFileSync(file, "utf8");
    // 8 KiB: the log (~42 KB) is read whole, the compaction of its 40 held messages is cut short.
    const out = execFileSync("bash", ["-c", `ulimit -f 8; exec "${process.execPath}" --import tsx "${FIXTURE}" "${file}"`], {
      encoding: "utf8",
    });
    assert.equal(out.trim().split("\n").pop(), "PersistError", "the compaction failed, and said so");
    assert.equal(existsSync(`${file}.compact`), false, "no temp file left behind by the failed compaction");
    assert.equal(readFileSync(file, "utf8"), before, "the log is untouched");
    assert.deepEqual(heldInLog(file), ids);
  });

  it("a broker killed (SIGKILL) while it compacts a large log: the next one starts from the log, nothing lost, no temp file left", {
    timeout: 120_000,
  }, async () => {
    const file = join(dir, "large.log");
    // ~100 MB: the compaction at start (everything held, rewritten) takes long enough to be caught.
    const ids = writeLog(file, 50_000, 2_000);
    const pubPort = await freePort();
    const recvPort = await freePort();
    const starting = startBrokerChild(pubPort, recvPort, file, { fsync: "none" }, true);
    starting.catch(() => undefined);
    const deadline = Date.now() + 60_000;
    while (!existsSync(`${file}.compact`) || statSync(`${file}.compact`).size === 0) {
      if (Date.now() > deadline) throw new Error("the compaction never started");
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    // Killed through its process id: startBrokerChild resolves only once the broker is ready.
    const pid = Number(
      execFileSync("bash", ["-c", `pgrep -f "broker-child.ts ${pubPort} ${recvPort}" | head -1`], { encoding: "utf8" }).trim(),
    );
    process.kill(pid, "SIGKILL");
    await starting.then(
      () => assert.fail("the broker was ready before it was killed: the compaction was not caught"),
      () => undefined,
    );
    assert.ok(existsSync(`${file}.compact`), "the kill left a temp file");
    const broker = await Broker.start({ pubPort: 0, recvPort: 0, persistFile: file, fsync: "none" });
    try {
      assert.equal(broker.held, ids.length, "every held message replayed from the log");
      assert.equal(existsSync(`${file}.compact`), false, "the leftover temp file is gone");
    } finally {
      broker.close();
    }
    assert.deepEqual(heldInLog(file).sort(), [...ids].sort(), "the log still holds every message");
  });
});
