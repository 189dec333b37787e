// The asking side of the request specs with a child process: a bus linked over one transport, and the
// config a child (spec/bridges/fixtures/request-peer.ts, or a spec that is its own child) links back with.
import { randomUUID } from "node:crypto";
import type { Link } from "../../bridges/link.js";
import { serve } from "../../bridges/jsonrpc/index.js";
import { RedisLink } from "../../bridges/redis/redis-link.js";
import { Broker, BrokerLink } from "../../bridges/zeromq/index.js";
import { Bus } from "../../lib/bus.js";
import { freePort } from "../helpers/free-port.js";
import { type TcpGate, tcpGate } from "../helpers/tcp-gate.js";

/** A bus linked through one transport, how a child process links to it, and how to close both. */
export interface RequestParent {
  bus: Bus;
  peer: { transport: "jsonrpc" | "redis" | "zeromq"; url?: string; prefix?: string; pubPort?: number; recvPort?: number };
  /**
   * With `gated`: the TCP gates the parent's link connects through (a child links directly). Shut, the
   * parent's link alone is cut off from the far side (an outage), which the child still reaches.
   */
  gates?: readonly TcpGate[];
  /** The parent's link, when it has one of its own (not a bridge server's). */
  link?: Link;
  close(): Promise<void>;
}

/** A bus behind a bridge server: a child links with a PeerLink to its URL. */
export async function jsonrpcParent(busId: string): Promise<RequestParent> {
  const bus = new Bus({ id: busId });
  const server = await serve({ bus });
  return {
    bus,
    peer: { transport: "jsonrpc", url: server.url },
    close: async () => {
      await server.close();
      bus.close();
    },
  };
}

/** A bus on a RedisLink to `url` (through a TcpGate when `gated`) under a fresh prefix starting with `prefixStart`. */
export async function redisParent(busId: string, url: string, prefixStart: string, gated = false): Promise<RequestParent> {
  const bus = new Bus({ id: busId });
  const prefix = `${prefixStart}${randomUUID()}:`;
  const gate = gated ? await tcpGate(Number(new URL(url).port)) : undefined;
  const connection = gate === undefined ? url : `redis://127.0.0.1:${gate.port}`;
  const link = await RedisLink.connect({ bus, connection, prefix });
  return {
    bus,
    peer: { transport: "redis", url, prefix },
    link,
    ...(gate === undefined ? {} : { gates: [gate] }),
    close: async () => {
      await link.close();
      bus.close();
      await gate?.close();
    },
  };
}

/** A bus on a BrokerLink (through TcpGates when `gated`) to a ZeroMQ broker of its own (closed with it). */
export async function zeromqParent(busId: string, gated = false): Promise<RequestParent> {
  const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
  const bus = new Bus({ id: busId });
  const gates = gated ? [await tcpGate(broker.pubPort), await tcpGate(broker.recvPort)] : undefined;
  const pubPort = gates?.[0]?.port ?? broker.pubPort;
  const recvPort = gates?.[1]?.port ?? broker.recvPort;
  const link = await BrokerLink.connect({ bus, pubPort, recvPort });
  return {
    bus,
    peer: { transport: "zeromq", pubPort: broker.pubPort, recvPort: broker.recvPort },
    link,
    ...(gates === undefined ? {} : { gates }),
    close: async () => {
      await link.close();
      bus.close();
      broker.close();
      for (const gate of gates ?? []) await gate.close();
    },
  };
}
