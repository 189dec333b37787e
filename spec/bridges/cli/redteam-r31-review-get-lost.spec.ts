// Review of r31's stdout failures: `berrymq get` whose write fails (`> out.jsonl` on a full disk; /dev/full
// answers every write with ENOSPC) said "cannot write to stdout" and exited 1, but the message it had taken
// off the server's shared queue was gone unnamed: no other worker gets it again, and the user could not
// tell which it was. It is given on stderr now; the rest stay on the queue.
import assert from "node:assert/strict";
import { closeSync, existsSync, openSync } from "node:fs";
import { describe, it } from "node:test";
import { serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { cli, finished } from "../../helpers/cli-process.js";
import { settlesWithin } from "../../helpers/wait-for.js";

const FULL = "/dev/full";

describe("red team r31 review: get with stdout on a full disk", { skip: !existsSync(FULL) && `no ${FULL} here` }, () => {
  it("names on stderr the message it took and could not write; the others stay queued", async (t) => {
    const bus = new Bus();
    const server = await serve({ bus, queues: ["task:*"] });
    t.after(() => server.close());
    bus.twitter("task:build", "first");
    bus.twitter("task:build", "second");
    const fd = openSync(FULL, "w");
    const get = cli(["get", server.url, "--count", "2", "--timeout", "5000"], {}, fd);
    closeSync(fd);
    t.after(() => get.signal("SIGKILL"));
    assert.ok(await settlesWithin(get.exited, 45_000), "get still runs after 45 s");
    assert.equal(await get.exited, 1, get.stderr());
    const lost = /\nberrymq get: the message taken and not written to stdout: (\{.*\})\n$/.exec(get.stderr());
    assert.ok(lost, `the message taken is not named: ${get.stderr()}`);
    assert.deepEqual((JSON.parse(lost[1] as string) as { args: unknown }).args, ["first"]);
    const rest = await finished(["get", server.url, "--nowait"]);
    assert.equal(rest.code, 0, rest.stderr);
    assert.deepEqual((JSON.parse(rest.stdout) as { args: unknown }).args, ["second"]);
  });
});
