// `npm run bench -- link-path`: CPU and allocation per message on the bus + Link path that every link
// shares (PeerLink, RedisLink, BrokerLink), in one process, with no socket: buses joined by Links over an
// in-memory transport that does what a stream transport does (the batch written by `envelopesJson`, the
// far side parsing the text and calling `receive` per envelope, in a later turn). Three workloads:
// fan-out of the bench payload to one linked bus, to two, and request/answer round trips (`ask`, 1 in
// flight). Figures: CPU µs per message (this process: both ends are here) and bytes allocated per message.
//
// A/B: `LINK_PATH_OLD=<dir>` (a checkout of the old code, e.g. `git worktree add /tmp/x <rev>`) runs the
// old and this code in alternate child processes, `LINK_PATH_PAIRS` pairs (default 5), and prints medians.
// Allocation is measured in a child of its own whose young generation is large enough that no GC runs
// during the round (the heap's growth is then what was allocated).
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { getHeapStatistics } from "node:v8";
import { machine, median, printTable } from "./measure.js";

const here = fileURLToPath(new URL("..", import.meta.url));
const payload = { kind: "tick", text: "x".repeat(64), values: [1, 2, 3] };
const FAN_OUT = 20_000;
const PER_TURN = 1_000;
const ROUND_TRIPS = 3_000;
const ROUNDS = 5;

type Figures = Record<string, number>;

const mode = process.argv[2];
if (mode === "--child") await child(process.argv[3] as string, process.argv[4] === "alloc");
else await parent();

async function parent(): Promise<void> {
  const old = process.env.LINK_PATH_OLD;
  const pairs = Number(process.env.LINK_PATH_PAIRS ?? 5);
  const variants: [string, string][] =
    old === undefined
      ? [["this", here]]
      : [
          ["old", old],
          ["new", here],
        ];
  const cpu = new Map<string, Figures[]>();
  const load = [loadavg()[0] as number];
  for (let pair = 0; pair < pairs; pair++) {
    // Alternate which goes first, so neither always runs after the other.
    const order = pair % 2 === 0 ? variants : [...variants].reverse();
    for (const [name, root] of order) {
      const list = cpu.get(name) ?? [];
      list.push(run(root, false));
      cpu.set(name, list);
    }
  }
  load.push(loadavg()[0] as number);
  const alloc = new Map<string, Figures>();
  for (const [name, root] of variants) alloc.set(name, run(root, true));
  console.log(`${machine()}, load average ${load.map((l) => l.toFixed(2)).join(" → ")}, ${pairs} runs per variant`);
  const keys = Object.keys(cpu.get(variants[0]?.[0] as string)?.[0] ?? {});
  const rows: string[][] = [];
  for (const key of keys) {
    const row = [key];
    for (const [name] of variants) {
      const values = (cpu.get(name) ?? []).map((f) => f[key] as number);
      row.push(`${median(values).toFixed(2)} (${values.map((v) => v.toFixed(2)).join(" ")})`);
    }
    for (const [name] of variants) row.push(Math.round(alloc.get(name)?.[key] ?? Number.NaN).toLocaleString("en-US"));
    rows.push(row);
  }
  printTable(
    [
      "workload",
      ...variants.map(([name]) => `${name}: CPU µs a message, median (runs)`),
      ...variants.map(([name]) => `${name}: bytes a message`),
    ],
    rows,
  );
}

function run(root: string, alloc: boolean): Figures {
  const flags = alloc ? ["--min-semi-space-size=512", "--max-semi-space-size=512"] : [];
  const result = spawnSync(
    process.execPath,
    [...flags, "--import", "tsx", "--expose-gc", fileURLToPath(import.meta.url), "--child", root, alloc ? "alloc" : "cpu"],
    {
      cwd: here,
      encoding: "utf8",
    },
  );
  if (result.status !== 0) throw new Error(`child failed: ${result.stderr}`);
  return JSON.parse(result.stdout.trim().split("\n").pop() as string) as Figures;
}

// One variant: its modules come from `root`.
async function child(root: string, alloc: boolean): Promise<void> {
  const load = (path: string): Promise<Record<string, unknown>> => import(pathToFileURL(`${root}/${path}`).href);
  const { Bus } = (await load("lib/bus.ts")) as { Bus: typeof import("../lib/bus.js").Bus };
  const { Link } = (await load("bridges/link.ts")) as { Link: typeof import("../bridges/link.js").Link };
  const { envelopesJson } = (await load("bridges/envelope.ts")) as typeof import("../bridges/envelope.js");
  type AnyBus = import("../lib/bus.js").Bus;
  type Envelope = import("../bridges/envelope.js").Envelope;

  // A stream transport without the stream: the batch as text, parsed by the far side in a later turn.
  class TextLink extends Link {
    peer: TextLink | undefined;
    protected override transmit(batch: Envelope[]): Promise<void> {
      const text = envelopesJson(batch);
      return new Promise<void>((resolve) => {
        setImmediate(() => {
          const frames = JSON.parse(text) as unknown[];
          const peer = this.peer as TextLink;
          for (let i = 0; i < frames.length; i++) peer.take(frames[i]);
          resolve();
        });
      });
    }

    take(frame: unknown): void {
      this.receive(frame);
    }

    static join(a: AnyBus, b: AnyBus): void {
      const left = new TextLink({ bus: a });
      const right = new TextLink({ bus: b });
      left.peer = right;
      right.peer = left;
      left.remoteBusId = b.id;
      right.remoteBusId = a.id;
      left.start();
      right.start();
    }
  }

  const figures: Figures = {};
  // CPU: the process's (user + system) over the measured rounds; allocation: heap growth in a round
  // during which no GC ran (the child is started with a young generation of 512 MB for that).
  async function measureRounds(name: string, count: number, round: () => Promise<void>): Promise<void> {
    await round();
    await round();
    if (alloc) {
      let gcs = 0;
      const observer = new PerformanceObserver((list) => {
        gcs += list.getEntries().length;
      });
      globalThis.gc?.();
      observer.observe({ entryTypes: ["gc"] });
      const before = getHeapStatistics().used_heap_size;
      await round();
      const after = getHeapStatistics().used_heap_size;
      await new Promise((resolve) => setImmediate(resolve));
      observer.disconnect();
      figures[name] = gcs === 0 ? (after - before) / count : Number.NaN;
      return;
    }
    globalThis.gc?.();
    const started = process.cpuUsage();
    for (let i = 0; i < ROUNDS; i++) await round();
    const used = process.cpuUsage(started);
    figures[name] = (used.user + used.system) / (count * ROUNDS);
  }

  for (const fanOut of [1, 2]) {
    const sender = new Bus({ id: `sender${fanOut}` });
    let received = 0;
    let target = 0;
    let wake: (() => void) | undefined;
    for (let i = 0; i < fanOut; i++) {
      const receiver = new Bus({ id: `receiver${fanOut}-${i}` });
      receiver.follow("bench:tick", () => {
        if (++received >= target) wake?.();
      });
      TextLink.join(sender, receiver);
    }
    await measureRounds(`fan-out to ${fanOut}`, alloc ? FAN_OUT / 2 : FAN_OUT, async () => {
      const count = alloc ? FAN_OUT / 2 : FAN_OUT;
      received = 0;
      target = count * fanOut;
      const done = new Promise<void>((resolve) => {
        wake = resolve;
      });
      for (let i = 0; i < count; i++) {
        sender.twitter("bench:tick", payload, i);
        if ((i + 1) % PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await done;
    });
  }

  {
    const asker = new Bus({ id: "asker" });
    const answerer = new Bus({ id: "answerer" });
    answerer.follow("calc:add", (m) => (m.args[0] as number) + 1);
    TextLink.join(asker, answerer);
    await measureRounds("round trip (ask, 1 in flight)", ROUND_TRIPS, async () => {
      for (let i = 0; i < ROUND_TRIPS; i++) await asker.ask("calc:add", i, payload);
    });
  }
  console.log(JSON.stringify(figures));
  process.exit(0);
}
