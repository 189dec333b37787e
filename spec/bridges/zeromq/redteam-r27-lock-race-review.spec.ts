// r27 review of the persist-file lock: two brokers starting at once on the same file (a supervisor's
// restart beside a manual start, two containers on one volume) both took the lock, and both ran on the
// file (the double owner the lock is there to prevent: one compacts over the other, whose confirmed
// messages are then lost). The lock was created empty and then written, and a reader took an empty lock
// for a stale one and deleted it; and a stale lock (its process killed) was deleted after its holder was
// read, by then possibly replaced by the other process's fresh lock. Found: 3 double owners in 200 races
// on fresh files, 7 in 200 on stale locks.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { Broker, PersistError } from "../../../bridges/zeromq/index.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/r27-lock-race.ts", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "berrymq-r27-lock-race-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// A process id no process has (above Linux's largest, 2^22).
const DEAD_PID = 4_194_305;

function race(startAt: number, count: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ["--import", "tsx", FIXTURE, dir, String(startAt), String(count)], (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split("\n").pop() as string) as number[]);
    });
  });
}

describe("zeromq broker: the persist-file lock under a race (r27 review)", () => {
  it("two processes opening the same files at once: each file has one owner", { timeout: 20_000 }, async () => {
    const count = 500;
    // The second half of the files have a stale lock, left by a process gone.
    for (let i = count / 2; i < count; i++) writeFileSync(join(dir, `f${i}.log.lock`), `${DEAD_PID}\n`);
    const startAt = Date.now() + 3_000; // both children loaded by then
    const [a, b] = await Promise.all([race(startAt, count), race(startAt, count)]);
    const both = a.filter((i) => b.includes(i));
    assert.deepEqual(both, [], "files both processes took the lock of");
    assert.equal(a.length + b.length, count, "every file was taken by one of them");
  });

  it("a lock that is a directory: a PersistError naming the file, and nothing removed", async () => {
    const file = join(dir, "dir-lock.log");
    mkdirSync(`${file}.lock`);
    await assert.rejects(Broker.start({ pubPort: 0, recvPort: 0, persistFile: file }), (error: unknown) => {
      assert.ok(error instanceof PersistError, String(error));
      assert.ok(error.message.includes(file), error.message);
      return true;
    });
    assert.ok(statSync(`${file}.lock`).isDirectory());
  });

  it("an empty or garbage lock (no process named) is taken over, and released at close", async () => {
    const file = join(dir, "garbage.log");
    for (const text of ["", "not a pid\n"]) {
      writeFileSync(`${file}.lock`, text);
      const broker = await Broker.start({ pubPort: 0, recvPort: 0, persistFile: file });
      broker.close();
      assert.equal(existsSync(`${file}.lock`), false, "the lock is gone after close()");
    }
  });

  it("in one process, the same file by another path (a symlinked directory): refused, the first keeps its lock", async () => {
    const real = join(dir, "real");
    mkdirSync(real);
    symlinkSync(real, join(dir, "alias"));
    const first = await Broker.start({ pubPort: 0, recvPort: 0, persistFile: join(real, "acks.log") });
    try {
      const aliased = join(dir, "alias", "acks.log");
      const second = await Broker.start({ pubPort: 0, recvPort: 0, persistFile: aliased }).catch((error: unknown) => error);
      if (second instanceof Broker) second.close();
      assert.ok(second instanceof PersistError && /in use by this process/.test(second.message), `refused: ${String(second)}`);
      assert.ok(existsSync(join(real, "acks.log.lock")), "the first broker's lock is still there");
    } finally {
      first.close();
    }
    const again = await Broker.start({ pubPort: 0, recvPort: 0, persistFile: join(dir, "alias", "acks.log") });
    again.close();
  });
});
