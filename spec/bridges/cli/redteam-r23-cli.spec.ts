// What a message or a server says reaches the operator's terminal through serve --verbose, tail, get and
// send: a terminal acts on DEL and C1 (U+009B is CSI), bidi overrides and line separators, which
// JSON.stringify leaves raw, and on any control character in an error a hostile server sends back.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import { cli, finished, type Running } from "../../helpers/cli-process.js";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const ACTS_ON = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const HOSTILE = ["\u009b2J", "\u202egnp.exe", "\u007f", "\u2028line", "\u0085next"];

describe("berrymq CLI: hostile text is printed escaped, never acted on", () => {
  let url: string;
  let server: Running;
  before(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}/`;
    server = cli(["serve", "--port", String(port), "--queue", "evil:*", "--verbose"]);
    await waitFor(() => server.stdout().includes("listening on"), "serve to listen", 15_000);
  });
  after(async () => {
    server.signal("SIGTERM");
    await server.exited;
  });

  it("serve --verbose, tail and get print a message's C1, DEL, bidi and separators as \\u escapes of the same JSON", async () => {
    const tail = cli(["tail", url, "evil:*"]);
    await waitFor(() => tail.stderr().includes("following"), "tail to start", 15_000);
    const sent = await finished(["send", url, "evil:text", JSON.stringify(HOSTILE)]);
    assert.equal(sent.code, 0, sent.stderr);
    await waitFor(() => tail.stdout().includes("evil:text"), "tail to print the message", 10_000);
    await waitFor(() => server.stdout().includes("evil:text"), "serve --verbose to print it", 10_000);
    const got = await finished(["get", url, "--timeout", "5000"]);
    assert.equal(got.code, 0, got.stderr);
    tail.signal("SIGINT");
    await tail.exited;
    for (const [who, output] of [
      ["tail", tail.stdout()],
      ["get", got.stdout],
      ["serve --verbose", server.stdout()],
    ] as const) {
      assert.doesNotMatch(output, ACTS_ON, `${who} printed a character a terminal acts on`);
      const line = output.split("\n").find((text) => text.includes("evil:text")) as string;
      assert.deepEqual((JSON.parse(line) as { args: unknown }).args, HOSTILE, `${who}'s line reads back as the message`);
    }
  });
});

describe("berrymq tail on a filter the server owns a queue for (serve --queue)", () => {
  let url: string;
  let server: Running;
  before(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}/`;
    server = cli(["serve", "--port", String(port), "--queue", "job:*"]);
    await waitFor(() => server.stdout().includes("listening on"), "serve to listen", 15_000);
  });
  after(async () => {
    server.signal("SIGTERM");
    await server.exited;
  });

  it("prints a copy of each message and takes none from the workers pulling with get", async () => {
    const tail = cli(["tail", url, "job:*"]);
    await waitFor(() => tail.stderr().includes("following"), "tail to start", 15_000);
    for (const n of [1, 2, 3]) assert.equal((await finished(["send", url, "job:run", JSON.stringify([n])])).code, 0);
    await waitFor(() => tail.stdout().trim().split("\n").length === 3, "tail to print three messages", 10_000);
    const got = await finished(["get", url, "--count", "3", "--timeout", "5000"]);
    assert.equal(got.code, 0, got.stderr);
    const args = (text: string): unknown[] =>
      text
        .trim()
        .split("\n")
        .map((line) => (JSON.parse(line) as { args: unknown[] }).args[0]);
    assert.deepEqual(args(got.stdout), [1, 2, 3], "the workers' queue kept every message");
    assert.deepEqual(args(tail.stdout()), [1, 2, 3]);
    tail.signal("SIGINT");
    await tail.exited;
  });

  it("a `shared` that is not a boolean is refused, naming it", async () => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "berrymq.connect", params: { style: "queue", filter: "job:*", shared: "no" } }),
    });
    const answer = (await response.json()) as { error?: { code: number; message: string } };
    assert.equal(answer.error?.code, -32602);
    assert.match(answer.error?.message ?? "", /invalid shared "no"/);
  });
});

describe("berrymq send: a hostile server's error text is printed escaped", () => {
  let hostile: Server;
  let url: string;
  before(async () => {
    // Answers every JSON-RPC call with an error whose message retitles and clears a terminal.
    hostile = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      request.on("end", () => {
        let id: unknown = null;
        try {
          id = (JSON.parse(body) as { id?: unknown }).id ?? null;
        } catch {}
        response.setHeader("content-type", "application/json");
        response.end(JSON.stringify({ jsonrpc: "2.0", id, error: { code: -32000, message: "\u001b]0;owned\u0007\u001b[2J\u009b31mgone" } }));
      });
    });
    const port = await freePort();
    await new Promise<void>((resolve) => hostile.listen(port, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${port}/`;
  });
  after(() => new Promise<void>((resolve) => hostile.close(() => resolve())));

  it("send, tail and get exit 1 and print the error without its escape sequences", async () => {
    for (const args of [["send", url, "app:log"], ["get", url, "--nowait"], ["tail", url]]) {
      const run = await finished(args);
      assert.equal(run.code, 1, `${args[0]}: ${run.stderr}`);
      assert.match(run.stderr, /owned/, `${args[0]} names what the server said`);
      assert.doesNotMatch(run.stderr + run.stdout, ACTS_ON, `${args[0]} printed a character a terminal acts on`);
    }
  });
});
