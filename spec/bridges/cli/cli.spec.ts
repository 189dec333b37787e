// The berrymq CLI run as child processes: serve, send, tail, get, and --help on each.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { cli, finished, type Running } from "../../helpers/cli-process.js";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";

const lines = (text: string): Record<string, unknown>[] =>
  text
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe("berrymq CLI", () => {
  let url: string;
  let server: Running;
  before(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}/`;
    server = cli(["serve", "--port", String(port), "--queue", "task:*", "--verbose"]);
    await waitFor(() => server.stdout().includes("listening on"), "serve to listen", 15_000);
  });
  after(async () => {
    server.signal("SIGTERM");
    assert.equal(await server.exited, 0, "serve exits 0 on SIGTERM");
  });

  it("--help on the top level and on every command exits 0 with its usage", async () => {
    const top = await finished(["--help"]);
    assert.equal(top.code, 0);
    for (const name of ["serve", "send", "tail", "get", "broker"]) assert.match(top.stdout, new RegExp(`\\n  ${name} `));
    for (const name of ["serve", "send", "tail", "get"]) {
      const help = await finished([name, "--help"]);
      assert.equal(help.code, 0, name);
      assert.match(help.stdout, new RegExp(`^usage: berrymq ${name}`));
    }
  });

  it("misuse exits 2 naming the problem", async () => {
    const unknown = await finished(["frobnicate"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    const badArgs = await finished(["send", url, "app:log", "{not json"]);
    assert.equal(badArgs.code, 2);
    assert.match(badArgs.stderr, /ARGS_JSON "\{not json" is not a JSON array/);
    const badId = await finished(["send", url, "bad id"]);
    assert.equal(badId.code, 2);
    assert.match(badId.stderr, /invalid identifier "bad id"/);
  });

  it("send delivers to serve; get pulls it from the server's queue", async () => {
    const sent = await finished(["send", url, "task:build", '["x", 1]', '{"fast": true}']);
    assert.equal(sent.code, 0, sent.stderr);
    await waitFor(() => server.stdout().includes('"task:build"'), "serve --verbose prints the message");
    const got = await finished(["get", url, "--timeout", "2000"]);
    assert.equal(got.code, 0, got.stderr);
    const [message] = lines(got.stdout);
    assert.equal(message?.id, "task:build");
    assert.deepEqual(message?.args, ["x", 1]);
    assert.deepEqual(message?.kwargs, { fast: true });
    const none = await finished(["get", url, "--nowait"]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /empty/);
  });

  it("tail prints matching messages as JSON lines until SIGINT", async () => {
    const tail = cli(["tail", url, "app:*"]);
    await waitFor(() => tail.stderr().includes("following"), "tail to start", 15_000);
    assert.equal((await finished(["send", url, "app:log", '["one"]'])).code, 0);
    assert.equal((await finished(["send", url, "other:log", '["skip"]'])).code, 0);
    assert.equal((await finished(["send", url, "app:log", '["two"]'])).code, 0);
    await waitFor(() => lines(tail.stdout()).length === 2, "two lines from tail", 10_000);
    assert.deepEqual(
      lines(tail.stdout()).map((m) => m.args),
      [["one"], ["two"]],
    );
    tail.signal("SIGINT");
    assert.equal(await tail.exited, 0);
  });

  it("send to a server that is not there exits 1 saying so", async () => {
    const nobody = await finished(["send", `http://127.0.0.1:${await freePort()}/`, "app:log"]);
    assert.equal(nobody.code, 1);
    assert.match(nobody.stderr, /unreachable|ECONNREFUSED/);
  });
});

describe("berrymq CLI secrets", () => {
  it("serve takes the secret from --secret-file; clients from $BERRYMQ_SECRET, --secret-file, or --secret with a warning", async () => {
    const dir = mkdtempSync(join(tmpdir(), "berrymq-secret-"));
    const file = join(dir, "secret");
    writeFileSync(file, "s3cret\n", { mode: 0o600 });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/`;
    const server = cli(["serve", "--port", String(port), "--secret-file", file]);
    try {
      await waitFor(() => server.stdout().includes("listening on"), "serve to listen", 15_000);
      assert.doesNotMatch(server.stderr(), /warning/);
      const none = await finished(["send", url, "app:log"]);
      assert.equal(none.code, 1);
      assert.match(none.stderr, /401|unauthorized/);
      const fromEnv = await finished(["send", url, "app:log"], { BERRYMQ_SECRET: "s3cret" });
      assert.equal(fromEnv.code, 0, fromEnv.stderr);
      const fromFile = await finished(["send", url, "app:log", "--secret-file", file]);
      assert.equal(fromFile.code, 0, fromFile.stderr);
      assert.doesNotMatch(fromFile.stderr, /warning/);
      const fromFlag = await finished(["send", url, "app:log", "--secret", "s3cret"]);
      assert.equal(fromFlag.code, 0, fromFlag.stderr);
      assert.match(fromFlag.stderr, /warning: --secret is visible to other users/);
      const both = await finished(["send", url, "app:log", "--secret", "x", "--secret-file", file]);
      assert.equal(both.code, 2);
      const missing = await finished(["send", url, "app:log", "--secret-file", join(dir, "nope")]);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /cannot read --secret-file/);
    } finally {
      server.signal("SIGTERM");
      await server.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
