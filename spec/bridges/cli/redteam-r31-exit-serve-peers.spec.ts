// Red team r31: `berrymq serve` with several `--peer`s, all paused (SIGSTOP) with a message in flight. On
// SIGTERM it closed its links one after the other, each waiting out its close deadline (2 s, then 500 ms
// for the far server's berrymq.close): 2.5 s per paused peer, 7.5 s with three. It closes them together
// now, so the exit takes one deadline however many peers are paused.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cli, finished, type Running } from "../../helpers/cli-process.js";
import { freePort } from "../../helpers/free-port.js";
import { settlesWithin, sleep, waitFor } from "../../helpers/wait-for.js";

const PEERS = 3;
// One paused peer's close takes about 2,500 ms; three took 7,500 ms one after the other.
const EXIT_BOUND = 5_000;

async function listening(args: string[]): Promise<Running> {
  const run = cli(["serve", ...args]);
  await waitFor(() => run.stdout().includes("listening on"), `serve ${args.join(" ")} to listen (${run.stderr()})`, 15_000);
  return run;
}

describe("berrymq serve --peer x3, the peers paused", { timeout: 40_000 }, () => {
  it("exits on SIGTERM within one close deadline, not one per paused peer", async (t) => {
    const running: Running[] = [];
    t.after(() => {
      for (const run of running) {
        run.signal("SIGCONT");
        run.signal("SIGKILL");
      }
    });
    const urls: string[] = [];
    for (let i = 0; i < PEERS; i++) {
      const port = await freePort();
      running.push(await listening(["--port", String(port)]));
      urls.push(`http://127.0.0.1:${port}/`);
    }
    const fars = [...running];
    const nearPort = await freePort();
    const near = await listening(["--port", String(nearPort), ...urls.flatMap((url) => ["--peer", url])]);
    running.push(near);
    await sleep(500); // each link asks for its stream right after the handshake
    for (const far of fars) far.signal("SIGSTOP");
    assert.equal((await finished(["send", `http://127.0.0.1:${nearPort}/`, "app:stuck", "[1]"])).code, 0);
    await sleep(1_000);
    const started = performance.now();
    near.signal("SIGTERM");
    const exitedInTime = await settlesWithin(near.exited, EXIT_BOUND);
    assert.ok(exitedInTime, `serve still runs ${EXIT_BOUND} ms after SIGTERM; stderr: ${near.stderr()}`);
    assert.equal(await near.exited, 0, near.stderr());
    assert.equal(near.stderr().match(/closed with 1 message\(s\) not delivered/g)?.length, PEERS, near.stderr());
    assert.ok(performance.now() - started >= 1_500, "each link waited for its paused peer up to its deadline");
  });
});
