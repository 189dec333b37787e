// A real redis-server for the Redis specs and bench: its own process on a free port in a temp dir, never
// the machine's Redis on 6379. With REDIS_URL set, that server is used instead (and never stopped).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { Redis } from "ioredis";
import { freePort } from "./free-port.js";

/** Options of {@link startRedis}. */
export interface RedisServerOptions {
  /** Append-only file on with `appendfsync always`, so a restart keeps every acknowledged write. */
  aof?: boolean;
  /** The redis-server binary (default: `redis-server` on the PATH). */
  binary?: string;
  /** Ignore REDIS_URL (for specs that must restart the server they own). */
  own?: boolean;
  /** More command-line arguments (e.g. `--cluster-enabled yes`, `--replicaof 127.0.0.1 <port>`). */
  args?: readonly string[];
  /** Run as a Sentinel with this config file content (written to the temp dir; Sentinel rewrites it). */
  sentinelConfig?: string;
}

/** A running Redis for a spec. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>` (or REDIS_URL). */
  readonly url: string;
  readonly port: number;
  /** PID of the running process (undefined while killed). */
  readonly pid: number | undefined;
  /** Its temp dir. */
  readonly dir: string;
  /** Whether this helper started (and will stop) the server. */
  readonly owned: boolean;
  /** Kills the server with SIGKILL (no shutdown save), as a crash would. */
  kill(): Promise<void>;
  /**
   * Starts it again on the same port and dir (with AOF on, its data comes back); `extraArgs` for this start
   * only, after its own (e.g. `--replicaof 127.0.0.1 <port>`: back as a replica, never as an empty master).
   */
  restart(extraArgs?: readonly string[]): Promise<void>;
  /** Stops the server and removes its dir. */
  stop(): Promise<void>;
}

const MISSING = "redis-server not found: install Debian's redis-server package (apt-get install redis-server) or set REDIS_URL to a running Redis";

/**
 * Starts a redis-server on a free port in a temp dir and resolves once it answers PING.
 * @throws Error saying how to install redis-server when the binary is missing.
 */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const external = process.env.REDIS_URL;
  if (external !== undefined && external !== "" && options.own !== true) {
    const port = Number(new URL(external).port || 6379);
    const noop = async (): Promise<void> => {};
    return { url: external, port, owned: false, pid: undefined, dir: "", kill: noop, restart: noop, stop: noop };
  }
  const binary = options.binary ?? "redis-server";
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "berrymq-redis-"));
  const args: string[] = [];
  if (options.sentinelConfig !== undefined) {
    const config = join(dir, "sentinel.conf");
    writeFileSync(config, options.sentinelConfig);
    args.push(config, "--sentinel");
  }
  args.push("--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--daemonize", "no");
  // BERRYMQ_REDIS_LOGS=<dir>: every server logs at notice level to <dir>/<port>.log (kept after stop), e.g.
  // to read what the sentinels decided (+sdown, +switch-master, +convert-to-slave, +tilt) when a spec failed.
  const logs = process.env.BERRYMQ_REDIS_LOGS;
  if (logs !== undefined && logs !== "") {
    mkdirSync(logs, { recursive: true });
    args.push("--loglevel", "notice", "--logfile", join(logs, `${port}${options.sentinelConfig === undefined ? "" : "-sentinel"}.log`));
  } else args.push("--loglevel", "warning");
  if (options.aof === true) args.push("--appendonly", "yes", "--appendfsync", "always");
  else if (options.sentinelConfig === undefined) args.push("--appendonly", "no");
  args.push(...(options.args ?? []));
  let child: ChildProcess | undefined;
  let watcher: ChildProcess | undefined;
  let output = "";

  const launch = async (extraArgs: readonly string[] = []): Promise<void> => {
    const started = spawn(binary, [...args, ...extraArgs], { stdio: ["ignore", "pipe", "pipe"] });
    child = started;
    const collect = (chunk: Buffer): void => {
      output += chunk.toString();
    };
    started.stdout?.on("data", collect);
    started.stderr?.on("data", collect);
    const failed = new Promise<never>((_, reject) => {
      started.once("error", (error: NodeJS.ErrnoException) => {
        reject(error.code === "ENOENT" ? new Error(`${MISSING} (tried "${binary}")`) : error);
      });
      started.once("exit", (code, signal) => reject(new Error(`redis-server exited (${code ?? signal}) before answering PING: ${output}`)));
    });
    const attempt = { given: false };
    try {
      await Promise.race([waitForPing(port, attempt), failed]);
    } finally {
      attempt.given = true;
      started.removeAllListeners("exit");
    }
    if (started.pid !== undefined) watcher = watchdog(started.pid);
  };

  const kill = async (): Promise<void> => {
    watcher?.kill("SIGKILL");
    watcher = undefined;
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()));
    running.kill("SIGKILL");
    await exited;
  };

  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child?.pid;
    },
    dir,
    owned: true,
    kill,
    restart: async (extraArgs) => {
      await kill();
      await launch(extraArgs);
    },
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Stops polling once the start was given up (`attempt.given`), so no timer outlives a failed start.
async function waitForPing(port: number, attempt: { given: boolean }, timeout = 10_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!attempt.given) {
    if (await ping(port)) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${timeout} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// A bare RESP PING, so the helper depends on no client library.
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let reply = "";
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString();
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG"));
    });
  });
}

/**
 * Kills the server once this process is gone, however it went: a spec file the test runner killed (its
 * timeout) left its servers running for good. A shell of its own process group polls this process every
 * second; it kills only a process that is still a redis-server (its pid could have been reused).
 */
function watchdog(pid: number): ChildProcess {
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; case "$(cat /proc/${pid}/comm 2>/dev/null)" in redis*) kill -9 ${pid};; esac`;
  const dog = spawn("sh", ["-c", script], { stdio: "ignore", detached: true });
  dog.on("error", () => {}); // no sh: the server is still stopped by stop()/kill() as before
  dog.unref();
  return dog;
}

/**
 * A redis-server shared by a spec file's tests (started before them, stopped after) and a raw ioredis client
 * on it, for specs that write the keys berrymq reads behind its back. Read `server` and `raw` inside tests.
 */
export function redisWithRawClient(): { readonly server: RedisServer; readonly raw: Redis } {
  let server: RedisServer | undefined;
  let raw: Redis | undefined;
  before(async () => {
    server = await startRedis();
    raw = new Redis(server.url);
  });
  after(async () => {
    raw?.disconnect();
    await server?.stop();
  });
  return {
    get server(): RedisServer {
      if (server === undefined) throw new Error("redisWithRawClient: read server inside a test");
      return server;
    },
    get raw(): Redis {
      if (raw === undefined) throw new Error("redisWithRawClient: read raw inside a test");
      return raw;
    },
  };
}
