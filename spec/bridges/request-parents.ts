// The asking side of the request specs with a child process: a bus linked over one transport, and the
// config a child (spec/bridges/fixtures/request-peer.ts, or a spec that is its own child) links back with.
import { randomUUID } from "node:crypto";
import { serve } from "../../bridges/jsonrpc/index.js";
import { RedisLink } from "../../bridges/redis/redis-link.js";
import { Broker, BrokerLink } from "../../bridges/zeromq/index.js";
import { Bus } from "../../lib/bus.js";
import { freePort } from "../helpers/free-port.js";

/** A bus linked through one transport, how a child process links to it, and how to close both. */
export interface RequestParent {
  bus: Bus;
  peer: { transport: "jsonrpc" | "redis" | "zeromq"; url?: string; prefix?: string; pubPort?: number; recvPort?: number };
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

/** A bus on a RedisLink to `url` under a fresh prefix starting with `prefixStart`. */
export async function redisParent(busId: string, url: string, prefixStart: string): Promise<RequestParent> {
  const bus = new Bus({ id: busId });
  const prefix = `${prefixStart}${randomUUID()}:`;
  const link = await RedisLink.connect({ bus, connection: url, prefix });
  return {
    bus,
    peer: { transport: "redis", url, prefix },
    close: async () => {
      await link.close();
      bus.close();
    },
  };
}

/** A bus on a BrokerLink to a ZeroMQ broker of its own (closed with it). */
export async function zeromqParent(busId: string): Promise<RequestParent> {
  const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
  const bus = new Bus({ id: busId });
  const link = await BrokerLink.connect({ bus, pubPort: broker.pubPort, recvPort: broker.recvPort });
  return {
    bus,
    peer: { transport: "zeromq", pubPort: broker.pubPort, recvPort: broker.recvPort },
    close: async () => {
      await link.close();
      bus.close();
      broker.close();
    },
  };
}
