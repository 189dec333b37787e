// `npm run bench -- mesh`: full meshes of 2, 3 and 4 processes linked by PeerLinks (JSON-RPC). Every
// process sends MESSAGES messages; we time until every process has every message, and count the
// envelopes the links received: each message should cross N−1 links (once from its origin), not be
// re-forwarded by every process that got it.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { PeerLink, serve } from "../bridges/jsonrpc/index.js";
import { Bus } from "../lib/bus.js";
import { machine, printTable } from "./measure.js";

const MESSAGES = 10_000;

if (process.argv[2] === "--node") await node(process.argv[3] as string);
else await main();

async function node(id: string): Promise<void> {
  // Counts every envelope a peer link of this process takes in (injected or dropped as a duplicate):
  // the links this process opened and those its server opened back alike.
  let envelopes = 0;
  const accept = PeerLink.prototype.accept;
  PeerLink.prototype.accept = function (this: PeerLink, frame: unknown) {
    envelopes++;
    return accept.call(this, frame);
  };
  const bus = new Bus({ id });
  const server = await serve({ bus });
  const links: PeerLink[] = [];
  let delivered = 0;
  let expected = Number.POSITIVE_INFINITY;
  const say = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);
  bus.follow("mesh:tick", () => {
    if (++delivered === expected) say({ done: true });
  });
  say({ url: server.url });
  createInterface({ input: process.stdin }).on("line", (line) => {
    const command = JSON.parse(line) as { connect?: string[]; go?: number; stats?: boolean };
    if (command.connect !== undefined) {
      void Promise.all(command.connect.map((url) => PeerLink.connect(url, { bus, server, bufferSize: 100_000 }))).then((made) => {
        links.push(...made);
        say({ connected: true });
      });
    } else if (command.go !== undefined) {
      expected = command.go;
      void (async () => {
        for (let sent = 0; sent < MESSAGES; sent += 500) {
          for (let i = 0; i < 500; i++) bus.twitter("mesh:tick", id, sent + i);
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      })();
    } else if (command.stats === true) {
      say({ envelopes });
    } else process.exit(0);
  });
}

interface Node {
  proc: ChildProcess;
  next(): Promise<Record<string, unknown>>;
  send(value: unknown): void;
}

function startNode(id: string): Node {
  const proc = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--node", id], { stdio: ["pipe", "pipe", "inherit"] });
  const queue: Record<string, unknown>[] = [];
  const waiting: ((value: Record<string, unknown>) => void)[] = [];
  createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    const value = JSON.parse(line) as Record<string, unknown>;
    const take = waiting.shift();
    if (take) take(value);
    else queue.push(value);
  });
  return {
    proc,
    next: () => {
      const value = queue.shift();
      return value !== undefined ? Promise.resolve(value) : new Promise((resolve) => waiting.push(resolve));
    },
    send: (value) => void proc.stdin?.write(`${JSON.stringify(value)}\n`),
  };
}

async function main(): Promise<void> {
  const rows: string[][] = [];
  for (const n of [2, 3, 4]) {
    const nodes = Array.from({ length: n }, (_, i) => startNode(`mesh-${n}-${i}`));
    const urls = await Promise.all(nodes.map(async (node) => (await node.next()).url as string));
    for (let i = 1; i < n; i++) {
      nodes[i]?.send({ connect: urls.slice(0, i) });
      await nodes[i]?.next();
    }
    await new Promise((resolve) => setTimeout(resolve, 500)); // links exchange their neighbour lists
    const started = performance.now();
    for (const node of nodes) node.send({ go: n * MESSAGES });
    await Promise.all(nodes.map((node) => node.next()));
    const seconds = (performance.now() - started) / 1_000;
    await new Promise((resolve) => setTimeout(resolve, 500)); // late duplicates, if any, are counted too
    let envelopes = 0;
    for (const node of nodes) {
      node.send({ stats: true });
      envelopes += (await node.next()).envelopes as number;
    }
    const sent = n * MESSAGES;
    rows.push([
      String(n),
      sent.toLocaleString("en-US"),
      Math.round((sent * n) / seconds).toLocaleString("en-US"),
      (envelopes / sent).toFixed(2),
      String(n - 1),
      (envelopes / sent / n).toFixed(2),
    ]);
    for (const node of nodes) node.send({ exit: true });
    await Promise.all(nodes.map((node) => new Promise((resolve) => node.proc.once("exit", resolve))));
  }
  console.log(`machine: ${machine()}; ${MESSAGES.toLocaleString("en-US")} messages sent by each process`);
  printTable(["processes", "messages sent", "deliveries/s (all processes)", "links crossed per message", "ideal", "envelopes received per process per message"], rows);
}
