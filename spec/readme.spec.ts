// Every ```ts block of README.md and of the bridges' READMEs is written to .build/readme/, type-checked with
// the project's compiler options and run in its own process: an example that fails to compile, throws or
// hangs fails here. `from "berrymq"` (and its subpaths) is pointed at the sources, as the package's exports
// map points at dist/. A block that serves until Ctrl-C (`process.once("SIGINT", ...)`) is the far process
// of the block after it: the two run together, on free ports in place of the ones they write, and the
// server must exit by itself on SIGINT, as its comment says.
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { freePort } from "./helpers/free-port.js";
import { type RedisServer, startRedis } from "./helpers/redis-server.js";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..");
const dir = join(root, ".build", "readme");
const READMES = ["README.md", "bridges/jsonrpc/README.md", "bridges/redis/README.md", "bridges/zeromq/README.md"];
const SUBPATHS: Record<string, string> = {
  berrymq: "lib/index.js",
  "berrymq/bridges": "bridges/index.js",
  "berrymq/jsonrpc": "bridges/jsonrpc/index.js",
  "berrymq/redis": "bridges/redis/index.js",
  "berrymq/zeromq": "bridges/zeromq/index.js",
};
const SERVES_UNTIL_SIGINT = 'process.once("SIGINT"';

interface Example {
  readme: string;
  line: number;
  code: string;
  file: string;
}

/** The TypeScript blocks of one README, each with the line it starts on. */
function examples(readme: string): Example[] {
  const lines = readFileSync(join(root, readme), "utf8").split("\n");
  const slug = readme.replace(/\.md$/, "").replace(/\//g, "-");
  const found: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]?.trim() !== "```ts") continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end]?.trim() !== "```") end++;
    const line = start + 1;
    found.push({ readme, line, code: lines.slice(start, end).join("\n"), file: join(dir, `${slug}-line-${line}.ts`) });
    i = end;
  }
  return found;
}

function pointAtSources(code: string): string {
  return code.replace(/from "(berrymq(?:\/\w+)?)"/g, (whole, specifier: string) => {
    const target = SUBPATHS[specifier];
    return target === undefined ? whole : `from "../../${target}"`;
  });
}

/** The 4-digit port numbers a block names (`port: 7201`, `127.0.0.1:7200`). */
function portsIn(code: string): number[] {
  return [...code.matchAll(/(?:port: |127\.0\.0\.1:)(\d{4,5})\b/g)].map((match) => Number(match[1]));
}

/** Resolves once something accepts connections on the port (or rejects after `timeout` ms). */
async function listening(port: number, timeout: number): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: "127.0.0.1" });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (accepted) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function runExample(example: Example, env: NodeJS.ProcessEnv): Promise<string> {
  const where = `${example.readme} line ${example.line}`;
  const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", example.file], {
    cwd: root,
    timeout: 30_000,
    env,
  }).catch((error: { stderr?: string; killed?: boolean }) =>
    assert.fail(`example at ${where} ${error.killed ? "hung (killed after 30 s)" : "failed"}:\n${error.stderr ?? String(error)}`),
  );
  assert.equal(stderr, "", `example at ${where} wrote to stderr`);
  return stdout;
}

describe("README examples", () => {
  const blocks = READMES.flatMap(examples);
  // Examples of berrymq/redis read REDIS_URL: they get a redis-server of their own, as every spec does.
  let redis: RedisServer | undefined;
  const env = (): NodeJS.ProcessEnv => ({
    ...process.env,
    NODE_NO_WARNINGS: "1",
    ...(redis === undefined ? {} : { REDIS_URL: redis.url }),
  });

  before(async () => {
    if (blocks.some((block) => block.code.includes('"berrymq/redis"'))) redis = await startRedis();
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const [i, block] of blocks.entries()) {
      let code = pointAtSources(block.code);
      const server = block.code.includes(SERVES_UNTIL_SIGINT)
        ? block
        : blocks[i - 1]?.code.includes(SERVES_UNTIL_SIGINT)
          ? blocks[i - 1]
          : undefined;
      if (server !== undefined) {
        // A pair's fixed ports become free ones, the same in both blocks.
        const client = server === block ? blocks[i + 1] : block;
        const written = [...new Set([...portsIn(server.code), ...portsIn(client?.code ?? "")])].sort();
        for (const port of written) code = code.replace(new RegExp(`\\b${port}\\b`, "g"), String(await pairPort(port)));
      }
      writeFileSync(block.file, `${code}\nexport {};\n`);
    }
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        extends: "../../tsconfig.json",
        compilerOptions: { noEmit: true, rootDir: "../.." },
        include: ["*.ts"],
        exclude: [],
      }),
    );
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await redis?.stop();
  });

  const pairPorts = new Map<number, number>();
  async function pairPort(written: number): Promise<number> {
    let port = pairPorts.get(written);
    if (port === undefined) {
      port = await freePort();
      pairPorts.set(written, port);
    }
    return port;
  }

  it("has examples in every README", () => {
    assert.ok(blocks.length >= 8, `found ${blocks.length} \`\`\`ts blocks`);
    for (const readme of READMES)
      assert.ok(
        blocks.some((block) => block.readme === readme),
        `no \`\`\`ts block in ${readme}`,
      );
  });

  it("type-check with the project's strict settings", async () => {
    await run(join(root, "node_modules/.bin/tsc"), ["-p", join(dir, "tsconfig.json")], { cwd: root }).catch(
      (error: { stdout?: string }) => assert.fail(`README examples do not compile:\n${error.stdout ?? String(error)}`),
    );
  });

  for (const readme of READMES) {
    // The bridges' examples run side by side (each is its own process, mostly waiting on sockets).
    describe(readme, { concurrency: readme === "README.md" ? 1 : true }, () => {
      const own = blocks.filter((block) => block.readme === readme);
      own.forEach((block, i) => {
        if (own[i - 1]?.code.includes(SERVES_UNTIL_SIGINT)) return; // run with its server, below
        if (!block.code.includes(SERVES_UNTIL_SIGINT)) {
          it(`the example at ${readme} line ${block.line} runs and exits by itself`, async () => {
            await runExample(block, env());
          });
          return;
        }
        const client = own[i + 1];
        it(`the example at ${readme} line ${client?.line} runs against the one at line ${block.line}, which exits on SIGINT`, async (t) => {
          assert.ok(client !== undefined, `the server example at ${readme} line ${block.line} has no example after it`);
          const server: ChildProcess = spawn(process.execPath, ["--import", "tsx", block.file], { cwd: root, env: env() });
          let output = "";
          server.stdout?.on("data", (chunk: Buffer) => {
            output += chunk.toString();
          });
          server.stderr?.on("data", (chunk: Buffer) => {
            output += chunk.toString();
          });
          const exited = new Promise<number | null>((resolve) => server.once("exit", (code) => resolve(code)));
          t.after(() => {
            if (server.exitCode === null && server.signalCode === null) server.kill("SIGKILL");
          });
          const [port] = portsIn(readFileSync(block.file, "utf8"));
          assert.ok(port !== undefined, `no port in the server example at ${readme} line ${block.line}`);
          await listening(port, 20_000);
          await runExample(client, env());
          server.kill("SIGINT");
          const bound = setTimeout(() => server.kill("SIGKILL"), 10_000);
          const code = await exited;
          clearTimeout(bound);
          assert.equal(
            code,
            0,
            `the server example at ${readme} line ${block.line} did not exit by itself on SIGINT:\n${output}`,
          );
          // What the client's comments say the server prints.
          for (const [, printed] of client.code.matchAll(/prints (B got [^;\n]+)/g)) {
            assert.ok(output.includes(printed?.trim() ?? ""), `the server did not print ${printed}:\n${output}`);
          }
        });
      });
    });
  }
});
