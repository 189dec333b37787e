// Shared by the ZeroMQ specs: a broker child process that can be SIGKILLed and restarted.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Broker, BrokerLink, type DeadLetter } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { freePort } from "../../helpers/free-port.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/broker-child.ts", import.meta.url));

/** A broker running in a child process. */
export interface BrokerChild {
  kill(): Promise<void>;
  /** Everything it printed on stdout so far. */
  output(): string;
}

/**
 * Starts `fixtures/broker-child.ts` and resolves once it printed "ready". `quiet`: the child does not print
 * its errors (a spec that sends thousands of hostile frames would have it write a line for each to a
 * shared stderr pipe, which blocks a writer whose reader falls behind).
 */
export function startBrokerChild(
  pubPort: number,
  recvPort: number,
  persistFile: string,
  more?: object,
  quiet = false,
): Promise<BrokerChild> {
  const args = [
    FIXTURE,
    String(pubPort),
    String(recvPort),
    persistFile,
    "200",
    ...(more === undefined ? [] : [JSON.stringify(more)]),
  ];
  const child = spawn(process.execPath, ["--import", "tsx", ...args], {
    stdio: ["ignore", "pipe", "inherit"],
    env: quiet ? { ...process.env, BROKER_CHILD_QUIET: "1" } : process.env,
  });
  return new Promise((resolve, reject) => {
    let out = "";
    let ready = false;
    const early = (code: number | null): void => reject(new Error(`broker child exited (${code}) before it was ready: ${out}`));
    child.once("exit", early);
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      // Once only: output after "ready" (a dead-letter line) must not remove the exit listener that
      // killHard adds (it did, with removeAllListeners: a kill then waited forever for its exit).
      if (!ready && out.includes("ready")) {
        ready = true;
        child.off("exit", early);
        resolve({ kill: () => killHard(child), output: () => out });
      }
    });
  });
}

function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGKILL");
  });
}

/** A client speaking the broker protocol by hand (DEALER + SUB), as a hostile or slow client would. */
export interface RawClient {
  readonly clientId: string;
  readonly dealer: import("zeromq").Dealer;
  /** DELIVERs received: [senderId, flags, body lines]. */
  readonly delivered: { senderId: string; flags: string; lines: string[] }[];
  /** Welcomes received (their version field). */
  readonly welcomes: string[];
  /** Sends a HELLO with `patterns` (no welcome awaited). */
  hello(patterns: string[], version?: number): Promise<void>;
  close(): void;
}

/** Connects a raw client with `clientId` (16 hex) to a broker's ports; SUB on its own topic and broadcasts. */
export async function rawClient(pubPort: number, recvPort: number, clientId: string): Promise<RawClient> {
  const zmq = await import("zeromq");
  const dealer = new zmq.Dealer({ routingId: clientId, linger: 0 });
  const sub = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 1_000_000 });
  dealer.connect(`tcp://127.0.0.1:${recvPort}`);
  sub.connect(`tcp://127.0.0.1:${pubPort}`);
  sub.subscribe(`${clientId} `);
  sub.subscribe("* ");
  const delivered: RawClient["delivered"] = [];
  const welcomes: string[] = [];
  void (async () => {
    try {
      for await (const [first, body] of sub) {
        const fields = first?.toString().split(" ") ?? [];
        if (fields[1] === "M")
          delivered.push({ senderId: fields[2] ?? "", flags: fields[3] ?? "", lines: (body?.toString() ?? "").split("\n") });
        else if (fields[1] === "W") welcomes.push(fields[3] ?? "");
      }
    } catch {
      // closed
    }
  })();
  return {
    clientId,
    dealer,
    delivered,
    welcomes,
    hello: (patterns, version = 0) => dealer.send(["H", JSON.stringify(patterns), String(version), "rc"]),
    close() {
      dealer.close();
      sub.close();
    },
  };
}

/**
 * A broker whose held messages expire fast into `deadLetterFile` (expiry 100 ms, resendInterval 50 ms),
 * with the dead letters it emits collected, for the dead-letter specs.
 */
export async function expiringBroker(deadLetterFile: string): Promise<{ broker: Broker; letters: DeadLetter[] }> {
  const broker = await Broker.start({
    pubPort: await freePort(),
    recvPort: await freePort(),
    resendInterval: 50,
    expiry: 100,
    deadLetterFile,
  });
  const letters: DeadLetter[] = [];
  broker.on("dead-letter", (letter) => void letters.push(letter));
  return { broker, letters };
}

/** A link that sends every message acknowledged and receives nothing: what it sends to nobody expires. */
export function acknowledgingSender(broker: Broker): Promise<BrokerLink> {
  return BrokerLink.connect({
    bus: new Bus(),
    pubPort: broker.pubPort,
    recvPort: broker.recvPort,
    importFilters: ["none:none"],
    acknowledge: ["*:*"],
  });
}

const CLI = fileURLToPath(new URL("../../../bridges/cli/main.ts", import.meta.url));

/** `berrymq broker …` through the real entry point, in a child process, its stdout and stderr collected. */
export function runBrokerCli(args: string[]): { output: () => string; exited: Promise<number | null>; kill: () => void } {
  const child = spawn(process.execPath, ["--import", "tsx", CLI, "broker", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const collect = (chunk: Buffer): void => {
    output += chunk.toString();
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { output: () => output, exited, kill: () => child.kill("SIGTERM") };
}
