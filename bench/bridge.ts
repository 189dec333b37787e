// `npm run bench -- bridge`: messages/second from this process to a child process over a berrymq PeerLink
// (messages dispatched in one tick go as one JSON-RPC batch request), against the same messages sent as one
// JSON-RPC request each by a bare json-rpc-2.0 JSONRPCClient to a JSONRPCServer on node:http (keep-alive,
// 8 requests in flight, and 1). Then latency: one message process → process → back (a follower in the
// child answers it) over the PeerLinks, p50/p99, against two raw keep-alive POSTs (there, and back).
// Both receivers run in the same child; one run measures all.
import { spawn } from "node:child_process";
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { JSONRPCClient, JSONRPCServer } from "json-rpc-2.0";
import { PeerLink, serve } from "../bridges/jsonrpc/index.js";
import { Bus } from "../lib/bus.js";
import { formatRate, machine, measure, printTable } from "./measure.js";

const PEER_COUNT = 50_000;
const ROUND_TRIPS = 2_000;
const WARM_UP = 300;
const BASELINE_COUNT = 5_000;
const IN_FLIGHT = 8;
const payload = { kind: "tick", text: "x".repeat(64), values: [1, 2, 3] };

if (process.argv[2] === "--receiver") await receiver();
else await main();

// The child: a berrymq bus behind a bridge server, and a bare JSONRPCServer; one counter for both.
async function receiver(): Promise<void> {
  let count = 0;
  let waiting: { target: number } | undefined;
  const tick = (): void => {
    count++;
    if (waiting !== undefined && count >= waiting.target) {
      waiting = undefined;
      process.stdout.write("reached\n");
    }
  };
  const bus = new Bus({ id: "bench-receiver" });
  bus.follow("bench:tick", tick);
  // Latency: every ping goes straight back as a pong (over the link the sender opened).
  bus.follow("lat:ping", (m) => void bus.twitter("lat:pong", m.args[0]));
  const server = await serve({ bus });
  // Raw baseline: answer the POST at once, then POST the same body back to the sender's raw server.
  const backAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  let backPort = 0;
  const echo = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      res.writeHead(200, { "content-type": "application/json", "content-length": 2 }).end("{}");
      const back = request(
        { host: "127.0.0.1", port: backPort, method: "POST", agent: backAgent, headers: { "content-type": "application/json", "content-length": body.length } },
        (answer) => answer.resume(),
      );
      back.end(body);
    });
  });
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
  const rpc = new JSONRPCServer();
  rpc.addMethod("tick", () => {
    tick();
    return true;
  });
  const bare = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      void rpc.receiveJSON(Buffer.concat(chunks).toString()).then((answer) => {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer));
      });
    });
  });
  await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));
  createInterface({ input: process.stdin })
    .on("line", (line) => {
      if (line.startsWith("back ")) {
        backPort = Number(line.slice(5));
        return;
      }
      const target = Number(line);
      if (count >= target) process.stdout.write("reached\n");
      else waiting = { target };
    })
    .on("close", () => {
      bare.close();
      echo.close();
      backAgent.destroy();
      void server.close();
    });
  process.stdout.write(
    `${JSON.stringify({ url: server.url, bare: (bare.address() as AddressInfo).port, echo: (echo.address() as AddressInfo).port })}\n`,
  );
}

async function main(): Promise<void> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--receiver"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  const next = (): Promise<string> => new Promise((resolve) => lines.once("line", resolve));
  const ports = JSON.parse(await next()) as { url: string; bare: number; echo: number };
  let total = 0;
  const received = async (more: number): Promise<void> => {
    total += more;
    const reached = next();
    child.stdin.write(`${total}\n`);
    await reached;
  };

  // berrymq: a PeerLink; the bus dispatches 1,000 messages per tick, each tick's go as one batch request.
  const bus = new Bus({ id: "bench-sender" });
  const local = await serve({ bus });
  const link = await PeerLink.connect(ports.url, { bus, server: local, exportFilters: ["bench:*", "lat:ping"], bufferSize: 100_000 });
  const peer = await measure("berrymq PeerLink (batched)", PEER_COUNT, async () => {
    for (let sent = 0; sent < PEER_COUNT; sent += 1_000) {
      for (let i = 0; i < 1_000; i++) bus.twitter("bench:tick", payload, i);
      // Lets the link flush this tick's batch, and keeps at most a few batches waiting. The wait sleeps
      // (1 ms timer) rather than spins on setImmediate: a spinning producer took a core's worth of CPU
      // from the receiver whenever the machine was busy.
      await new Promise((resolve) => setImmediate(resolve));
      while (link.backlog > 4_000) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await received(PEER_COUNT);
  });

  // Baseline: one JSON-RPC request per message with a bare json-rpc-2.0 client over keep-alive HTTP.
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const client = new JSONRPCClient(
    (payload: unknown) =>
      new Promise<void>((resolve, reject) => {
        const body = JSON.stringify(payload);
        const req = request(
          {
            host: "127.0.0.1",
            port: ports.bare,
            method: "POST",
            agent,
            headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (chunk: Buffer) => chunks.push(chunk));
            res.on("end", () => {
              client.receive(JSON.parse(Buffer.concat(chunks).toString()));
              resolve();
            });
          },
        );
        req.on("error", reject);
        req.end(body);
      }),
  );
  const oneByOne = (inFlight: number) => async (): Promise<void> => {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < BASELINE_COUNT) {
        const i = next++;
        await client.request("tick", { identifier: "bench:tick", args: [payload, i], kwargs: {} });
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    await received(BASELINE_COUNT);
  };
  const baseline = await measure(
    `json-rpc-2.0, one request per message, ${IN_FLIGHT} in flight`,
    BASELINE_COUNT,
    oneByOne(IN_FLIGHT),
  );
  const sequential = await measure("json-rpc-2.0, one request per message, 1 in flight", BASELINE_COUNT, oneByOne(1));

  // Latency, one message at a time: berrymq ping → pong over the PeerLinks, and two raw POSTs.
  let pong: ((n: unknown) => void) | undefined;
  bus.follow("lat:pong", (m) => pong?.(m.args[0]));
  const viaLink = (n: number): Promise<unknown> =>
    new Promise((resolve) => {
      pong = resolve;
      bus.twitter("lat:ping", n);
    });
  let rawBack: (() => void) | undefined;
  const backServer = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json", "content-length": 2 }).end("{}");
      rawBack?.();
    });
  });
  await new Promise<void>((resolve) => backServer.listen(0, "127.0.0.1", resolve));
  child.stdin.write(`back ${(backServer.address() as AddressInfo).port}\n`);
  const rawAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const viaRaw = (n: number): Promise<void> =>
    new Promise((resolve, reject) => {
      rawBack = resolve;
      const body = JSON.stringify({ identifier: "lat:ping", args: [n] });
      const req = request(
        { host: "127.0.0.1", port: ports.echo, method: "POST", agent: rawAgent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
        (res) => res.resume(),
      );
      req.on("error", reject);
      req.end(body);
    });
  const latencies = { link: [] as number[], raw: [] as number[] };
  for (let i = 0; i < WARM_UP + ROUND_TRIPS; i++) {
    // Interleaved, so both see the same machine load.
    let start = performance.now();
    await viaLink(i);
    const link1 = performance.now() - start;
    start = performance.now();
    await viaRaw(i);
    const raw1 = performance.now() - start;
    if (i >= WARM_UP) {
      latencies.link.push(link1);
      latencies.raw.push(raw1);
    }
  }
  backServer.close();
  rawAgent.destroy();

  await link.close();
  await local.close();
  agent.destroy();
  child.stdin.end();
  await new Promise((resolve) => child.once("exit", resolve));

  console.log(`\nbridge: one process to another over 127.0.0.1 — ${machine()}\n`);
  printTable(
    ["path", "messages/s", "vs baseline"],
    [peer, baseline, sequential].map((rate) => [
      rate.label,
      formatRate(rate.perSecond),
      `${(rate.perSecond / baseline.perSecond).toFixed(1)}×`,
    ]),
  );
  console.log(
    `\nratios are against the faster baseline (8 in flight). targets: ≥ 50,000 msg/s (${peer.perSecond >= 50_000 ? "met" : "MISSED"}), ≥ 10× baseline (${peer.perSecond >= 10 * baseline.perSecond ? "met" : "MISSED"})`,
  );
  const [l50, l99, r50, r99] = [
    percentile(latencies.link, 0.5),
    percentile(latencies.link, 0.99),
    percentile(latencies.raw, 0.5),
    percentile(latencies.raw, 0.99),
  ];
  console.log(`\nlatency: one message process → process → back, ${ROUND_TRIPS} round trips one at a time (after ${WARM_UP} warm-up)\n`);
  printTable(
    ["path", "p50", "p99"],
    [
      ["berrymq PeerLink ping → follower → pong", micros(l50), micros(l99)],
      ["two raw keep-alive POSTs (there, and back)", micros(r50), micros(r99)],
      ["ratio", `${(l50 / r50).toFixed(2)}×`, `${(l99 / r99).toFixed(2)}×`],
    ],
  );
  console.log(
    `\ntarget ≤ 1.3× raw: p50 ${l50 <= 1.3 * r50 ? "met" : "MISSED"}, p99 ${l99 <= 1.3 * r99 ? "met" : "MISSED"}; throughput ≥ 10× json-rpc-2.0: ${peer.perSecond >= 10 * baseline.perSecond ? "met" : "MISSED"}`,
  );
}

function percentile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

function micros(ms: number): string {
  return `${Math.round(ms * 1000)} µs`;
}
