import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

// The kernel hands out ports of its ephemeral range to every bind(0) and outgoing connection on the
// machine. A port of that range, free a moment ago, can be taken by any other process before the spec
// binds it: a child process (tsx) takes hundreds of ms to bind, and a spec that kills and restarts a
// server leaves its port free a second or more, so a parallel spec run took the broker's port
// (EADDRINUSE). Ports are picked at random below (or above) that range instead, where only another
// freePort() caller picking the very same port could take it — and that is ruled out too: a port is
// handed out once per process, and claimed across processes by a file (r29: two freePort() calls of one
// spec returned the same port, so a broker's pub and recv sockets clashed).
const EPHEMERAL = ephemeralRange();
const LOWEST = 10_000;
const CLAIMS = join(tmpdir(), "berrymq-spec-ports");
const handedOut = new Set<number>();

function ephemeralRange(): { low: number; high: number } {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return { low: low as number, high: high as number };
  } catch {
    // Not Linux: assume its default range; the ports picked below it are outside the range of macOS and
    // Windows (49152-65535) too.
  }
  return { low: 32_768, high: 60_999 };
}

// Below the range when there is room (a Redis Cluster node needs its port + 10000 to be a port too), else above it.
function randomCandidate(): number | undefined {
  const below = EPHEMERAL.low - LOWEST;
  if (below >= 1_000) return LOWEST + Math.floor(Math.random() * below);
  const above = 65_535 - EPHEMERAL.high;
  if (above >= 1_000) return EPHEMERAL.high + 1 + Math.floor(Math.random() * above);
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

// A claim is a file named by the port holding the claiming process's pid; a dead process's claim is taken over.
function claim(port: number): boolean {
  const file = join(CLAIMS, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") return true; // no claims possible here: the bind probe decides
      let owner = Number.NaN;
      try {
        owner = Number(readFileSync(file, "utf8"));
      } catch {
        continue; // removed meanwhile: try again
      }
      if (!(Number.isInteger(owner) && owner > 0)) return false; // being written right now (or torn): leave it
      if (alive(owner)) return false;
      try {
        unlinkSync(file);
      } catch {
        // another process took it over first
      }
    }
  }
  return false;
}

function releaseClaims(): void {
  for (const port of handedOut) {
    try {
      if (Number(readFileSync(join(CLAIMS, String(port)), "utf8")) === process.pid) unlinkSync(join(CLAIMS, String(port)));
    } catch {
      // already gone
    }
  }
}

let claimsReady = false;
function prepareClaims(): void {
  if (claimsReady) return;
  claimsReady = true;
  try {
    mkdirSync(CLAIMS, { recursive: true });
  } catch {
    // claims then fail open: the bind probe alone decides
  }
  process.once("exit", releaseClaims);
}

function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.on("error", () => resolve(undefined)); // taken (or not allowed): try another
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      const bound = typeof address === "object" && address !== null ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, outside the kernel's ephemeral range when it can,
 * never handed out before by this process nor, while it lives, by another process using this helper.
 */
export async function freePort(): Promise<number> {
  prepareClaims();
  for (let tries = 0; tries < 200; tries++) {
    const candidate = randomCandidate();
    if (candidate === undefined) break;
    if (handedOut.has(candidate) || !claim(candidate)) continue;
    handedOut.add(candidate);
    const port = await tryListen(candidate);
    if (port !== undefined) return port;
  }
  const port = await tryListen(0); // no room outside the ephemeral range: let the OS pick
  if (port === undefined) throw new Error("no free TCP port on 127.0.0.1");
  handedOut.add(port);
  return port;
}
