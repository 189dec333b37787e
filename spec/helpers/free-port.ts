import { readFileSync } from "node:fs";
import { createServer } from "node:net";

// The kernel hands out ports of its ephemeral range to every bind(0) and outgoing connection on the
// machine. A port of that range, free a moment ago, can be taken by any other process before the spec
// binds it: a child process (tsx) takes hundreds of ms to bind, and a spec that kills and restarts a
// server leaves its port free a second or more, so a parallel spec run took the broker's port
// (EADDRINUSE). Ports are picked at random below (or above) that range instead, where only another
// freePort() caller picking the very same port could take it.
const EPHEMERAL = ephemeralRange();
const LOWEST = 10_000;

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

/** A TCP port on 127.0.0.1 that was free a moment ago, outside the kernel's ephemeral range when it can. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const candidate = randomCandidate();
    if (candidate === undefined) break;
    const port = await tryListen(candidate);
    if (port !== undefined) return port;
  }
  const port = await tryListen(0); // no room outside the ephemeral range: let the OS pick
  if (port === undefined) throw new Error("no free TCP port on 127.0.0.1");
  return port;
}
