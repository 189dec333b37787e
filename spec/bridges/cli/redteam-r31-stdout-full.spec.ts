// Red team r31: stdout that fails other than by EPIPE (`> out.jsonl` on a full disk; /dev/full answers every
// write with ENOSPC). r30 took EPIPE only and threw the rest from the 'error' listener: get and tail died
// with a stack trace (get's message taken and lost, unsaid), and serve --verbose and broker --verbose died at
// their banner.
import assert from "node:assert/strict";
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { cli, finished, type Running } from "../../helpers/cli-process.js";
import { freePort } from "../../helpers/free-port.js";
import { settlesWithin, waitFor } from "../../helpers/wait-for.js";

const FULL = "/dev/full";
const NO_SPACE = /cannot write to stdout: ENOSPC: no space left on device, write/;

// `berrymq ...args` writing its stdout to /dev/full; killed at the end of the test.
function intoFullDisk(t: TestContext, args: string[]): Running {
  const fd = openSync(FULL, "w");
  const run = cli(args, {}, fd);
  closeSync(fd);
  t.after(() => run.signal("SIGKILL"));
  return run;
}

describe("red team r31: berrymq with stdout on a full disk", { skip: !existsSync(FULL) && `no ${FULL} here` }, () => {
  it("get says it could not write the message it took, exit 1, no stack trace", async (t) => {
    const bus = new Bus();
    const server = await serve({ bus, queues: ["task:*"] });
    t.after(() => server.close());
    bus.twitter("task:build");
    const get = intoFullDisk(t, ["get", server.url, "--timeout", "5000"]);
    assert.ok(await settlesWithin(get.exited, 45_000), "get still runs after 45 s");
    assert.equal(await get.exited, 1, get.stderr());
    // Then the message it took and could not write (redteam-r31-review-get-lost).
    assert.match(get.stderr(), new RegExp(`^berrymq get: ${NO_SPACE.source}\\n`));
  });

  it("tail says so and exits 1, no stack trace", async (t) => {
    const bus = new Bus();
    const server = await serve({ bus });
    t.after(() => server.close());
    const tail = intoFullDisk(t, ["tail", server.url, "app:*"]);
    await waitFor(() => tail.stderr().includes("following"), `tail to start (${tail.stderr()})`, 15_000);
    bus.twitter("app:log");
    assert.ok(await settlesWithin(tail.exited, 15_000), `tail still runs 15 s after its write failed: ${tail.stderr()}`);
    assert.equal(await tail.exited, 1, tail.stderr());
    assert.match(tail.stderr(), new RegExp(`\\nberrymq tail: ${NO_SPACE.source}\\n$`));
  });

  it("broker dead-letters says so and exits 1, no stack trace", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "berrymq-r31-full-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "dead.jsonl");
    const letter = {
      messageId: "m1",
      identifier: "a:b",
      senderId: "0123456789abcdef",
      payload: "[]",
      reason: "expired",
      heldAt: 1,
      deadAt: 2,
    };
    writeFileSync(file, `${JSON.stringify(letter)}\n`);
    const list = intoFullDisk(t, ["broker", "dead-letters", file]);
    assert.ok(await settlesWithin(list.exited, 45_000), "dead-letters still runs after 45 s");
    assert.equal(await list.exited, 1, list.stderr());
    assert.match(list.stderr(), new RegExp(`^berrymq broker dead-letters: ${NO_SPACE.source}\n$`));
  });

  it("serve --verbose and broker --verbose run on, saying why they print nothing more", async (t) => {
    const port = await freePort();
    const server = intoFullDisk(t, ["serve", "--port", String(port), "--verbose"]);
    const broker = intoFullDisk(t, ["broker", "--pub-port", "0", "--recv-port", "0", "--verbose"]);
    for (const [run, name, verb] of [
      [server, "serve", "serving"],
      [broker, "broker", "running"],
    ] as const) {
      const said = `berrymq ${name}: ${NO_SPACE.source}: ${verb} on, printing nothing more there\n`;
      await waitFor(() => new RegExp(said).test(run.stderr()), `${name} to say its stdout failed (${run.stderr()})`, 15_000);
    }
    const sent = await finished(["send", `http://127.0.0.1:${port}/`, "app:log"]);
    assert.equal(sent.code, 0, `serve is gone: ${sent.stderr}${server.stderr()}`);
    for (const run of [server, broker]) {
      run.signal("SIGTERM");
      assert.equal(await run.exited, 0, run.stderr());
      assert.doesNotMatch(run.stderr(), /\n\s+at /);
    }
  });
});
