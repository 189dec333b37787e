// A broker with a small maxSubscriberQueueBytes, a BrokerLink that sends to it, and raw clients (a DEALER
// and a SUB, no BrokerLink) that act the subscribers a BrokerLink is not: one that reads nothing, one that
// echoes every mark at once, one whose pub connection goes and comes back. For the r28 review specs.
import { randomBytes } from "node:crypto";
import * as zmq from "zeromq";
import { Broker, BrokerLink, type BrokerOptions } from "../../bridges/zeromq/index.js";
import { Bus } from "../../lib/bus.js";
import { freePort } from "./free-port.js";
import { waitFor } from "./wait-for.js";

/** A raw client of the broker: it follows `job:*`. */
export interface RawBrokerClient {
  readonly clientId: string;
  readonly dealer: zmq.Dealer;
  /** Beats heard on its SUB (reset by `reconnectSub`). */
  readonly beats: number;
  /** Messages delivered to it (a DELIVER's first frame holds a flag per message). */
  readonly delivered: number;
  /** The marks it was sent, in order. */
  readonly marks: readonly string[];
  /** Waits for a beat on its SUB: what the broker sends it from then on arrives. */
  heard(): Promise<void>;
  /** Sends a HELLO following `job:*` with `features` (e.g. "rck": "k" answers marks). */
  hello(features: string, version?: number): Promise<void>;
  /** Closes its SUB: its pub connection is gone, what is sent to it meanwhile is lost. */
  dropSub(): void;
  /** Opens a new SUB (after `dropSub`), its beats counted from 0. */
  reconnectSub(): void;
  close(): void;
}

export interface BoundedBroker {
  readonly broker: Broker;
  /** The sending link (imports nothing). */
  readonly sender: BrokerLink;
  /** The broker's log lines. */
  readonly lines: string[];
  /** Another BrokerLink to the broker, importing `importFilters`; closed after the test. */
  link(importFilters: string[]): Promise<BrokerLink>;
  /** A raw client; `echoMarks`: it answers every mark at once, as a reader that keeps up. */
  rawClient(options?: { echoMarks?: boolean }): RawBrokerClient;
}

/**
 * Starts a broker bounding each subscriber to `bound` unread bytes (heartbeats every 100 ms, clients kept
 * 60 s), and its sending link (`acknowledge` its acknowledged identifiers); all closed after the test,
 * raw clients and links first.
 */
export async function boundedBroker(
  t: { after(fn: () => unknown): void },
  options: { bound: number; maxMessageBytes?: number; acknowledge?: string[]; broker?: Partial<BrokerOptions> },
): Promise<BoundedBroker> {
  const { bound, maxMessageBytes = bound } = options;
  const lines: string[] = [];
  const broker = await Broker.start({
    pubPort: await freePort(),
    recvPort: await freePort(),
    maxSubscriberQueueBytes: bound,
    maxMessageBytes,
    heartbeatInterval: 100,
    clientTimeout: 60_000,
    log: (line) => void lines.push(line),
    ...options.broker,
  });
  broker.on("error", () => undefined);
  const closing: (() => unknown)[] = [];
  t.after(async () => {
    for (const close of closing.reverse()) await close();
    broker.close();
  });
  const connect = async (importFilters: string[], acknowledge?: string[]): Promise<BrokerLink> => {
    const link = await BrokerLink.connect({
      bus: new Bus(),
      pubPort: broker.pubPort,
      recvPort: broker.recvPort,
      importFilters,
      maxMessageBytes,
      ...(acknowledge === undefined ? {} : { acknowledge }),
    });
    closing.push(() => link.close());
    return link;
  };
  const sender = await connect(["none:none"], options.acknowledge);
  return {
    broker,
    sender,
    lines,
    link: (importFilters) => connect(importFilters),
    rawClient: (clientOptions = {}) => {
      const client = rawBrokerClient(broker, clientOptions.echoMarks === true);
      closing.push(() => client.close());
      return client;
    },
  };
}

function rawBrokerClient(broker: Broker, echoMarks: boolean): RawBrokerClient {
  const clientId = randomBytes(8).toString("hex");
  const dealer = new zmq.Dealer({ routingId: clientId, linger: 0 });
  dealer.connect(`tcp://127.0.0.1:${broker.recvPort}`);
  let sub: zmq.Subscriber | undefined;
  const marks: string[] = [];
  const client = {
    clientId,
    dealer,
    beats: 0,
    delivered: 0,
    marks,
    heard: () => waitFor(() => client.beats > 0, "a beat on the raw client's SUB", 10_000),
    hello: (features: string, version = 0) => dealer.send(["H", JSON.stringify(["job:*"]), String(version), features]),
    dropSub: () => sub?.close(),
    reconnectSub: () => {
      client.beats = 0;
      const socket = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 1_000_000 });
      socket.connect(`tcp://127.0.0.1:${broker.pubPort}`);
      socket.subscribe(`${clientId} `);
      socket.subscribe("* ");
      sub = socket;
      void (async () => {
        try {
          for await (const [first] of socket) {
            const fields = first?.toString().split(" ") ?? [];
            if (fields[1] === "T") client.beats++;
            else if (fields[1] === "M") client.delivered += (fields[3] ?? "").length;
            else if (fields[1] === "K") {
              marks.push(fields[2] ?? "");
              if (echoMarks) await dealer.send(["K", fields[2] ?? ""]);
            }
          }
        } catch {
          // closed
        }
      })();
    },
    close: () => {
      dealer.close();
      sub?.close();
    },
  };
  client.reconnectSub();
  return client;
}
