// Every interval or timeout option that runs on Node's own timers refuses a value above 2³¹−1 ms with an
// InvalidArgumentError that names it. Before, such a value overflowed: Node fires it after 1 ms, so a
// ping, heartbeat, session sweep or retry backoff ran every millisecond (measured: 237 retries in 300 ms
// for `retryDelay.max`, 270 pings for `pingInterval`), and ZeroMQ refused `sendTimeout` with a bare
// "Invalid argument".
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { serve } from "../../bridges/jsonrpc/bridge-server.js";
import { PeerLink } from "../../bridges/jsonrpc/peer-link.js";
import { RpcEndpoint } from "../../bridges/jsonrpc/rpc-endpoint.js";
import { Broker } from "../../bridges/zeromq/broker.js";
import { BrokerLink } from "../../bridges/zeromq/broker-link.js";
import { RpcClient } from "../../bridges/zeromq/rpc-client.js";
import { RpcServer } from "../../bridges/zeromq/rpc-server.js";
import { Bus } from "../../lib/bus.js";
import { InvalidArgumentError } from "../../lib/errors.js";
import { MAX_TIMER_DELAY } from "../../lib/long-timer.js";
import { freePort } from "../helpers/free-port.js";
import { MemoryLink } from "../helpers/memory-link.js";

const TOO_LONG = MAX_TIMER_DELAY + 1;
type Closer = () => unknown;
const open: Closer[] = [];

afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

/** Each option, and how to build what takes it with that option set to `value` (returns its closer). */
const options: Record<string, (value: number) => Promise<Closer>> = {
  "Link retryDelay.max": async (value) => {
    const [a, b] = MemoryLink.pair({ bus: new Bus(), retryDelay: { initial: 50, max: value } }, { bus: new Bus() });
    return () => Promise.all([a.close(), b.close()]);
  },
  "Link closeTimeout": async (value) => {
    const [a, b] = MemoryLink.pair({ bus: new Bus(), closeTimeout: value }, { bus: new Bus() });
    return () => Promise.all([a.close(), b.close()]);
  },
  "BridgeServer sweepInterval": async (value) => {
    const server = await serve({ sweepInterval: value });
    return () => server.close();
  },
  "RpcEndpoint timeout": async (value) => {
    new RpcEndpoint("http://127.0.0.1:1/", { timeout: value });
    return () => undefined;
  },
  "PeerLink pingInterval": async (value) => {
    const [here, there] = await Promise.all([serve(), serve()]);
    open.push(() => here.close(), () => there.close());
    const link = await PeerLink.connect(there.url, { bus: new Bus(), server: here, pingInterval: value });
    return () => link.close();
  },
  "Broker heartbeatInterval": (value) => broker({ heartbeatInterval: value }),
  "Broker resendInterval": (value) => broker({ resendInterval: value }),
  "Broker clientTimeout": (value) => broker({ clientTimeout: value }),
  "Broker receiptDelay": (value) => broker({ receiptDelay: value }),
  "BrokerLink sendTimeout": (value) => brokerLink({ sendTimeout: value }),
  "BrokerLink heartbeatInterval": (value) => brokerLink({ heartbeatInterval: value }),
  "BrokerLink connectTimeout": (value) => brokerLink({ connectTimeout: value }),
  "RpcServer callTimeout": (value) => rpcServer({ callTimeout: value }),
  "RpcServer heartbeatInterval": (value) => rpcServer({ heartbeatInterval: value }),
  "RpcServer heartbeatTimeout": (value) => rpcServer({ heartbeatTimeout: value }),
  "RpcClient callTimeout": (value) => rpcClient({ callTimeout: value }),
  "RpcClient heartbeatInterval": (value) => rpcClient({ heartbeatInterval: value }),
  "RpcClient heartbeatTimeout": (value) => rpcClient({ heartbeatTimeout: value }),
};

async function broker(extra: Record<string, number>): Promise<Closer> {
  const started = await Broker.start({ pubPort: await freePort(), recvPort: await freePort(), ...extra });
  return () => started.close();
}

async function brokerLink(extra: Record<string, number>): Promise<Closer> {
  const started = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
  open.push(() => started.close());
  const link = await BrokerLink.connect({ bus: new Bus(), pubPort: started.pubPort, recvPort: started.recvPort, ...extra });
  return () => link.close();
}

async function rpcServer(extra: Record<string, number>): Promise<Closer> {
  const server = await RpcServer.listen({ port: await freePort(), ...extra });
  return () => server.close();
}

async function rpcClient(extra: Record<string, number>): Promise<Closer> {
  const server = await RpcServer.listen({ port: await freePort() });
  open.push(() => server.close());
  const client = RpcClient.connect({ port: server.port, ...extra });
  return () => client.close();
}

describe("timer options above 2³¹−1 ms", () => {
  for (const [name, build] of Object.entries(options)) {
    const option = name.split(" ")[1] as string;
    it(`${name}: ${TOO_LONG} is refused with an error naming the option; ${MAX_TIMER_DELAY} is taken`, async () => {
      await assert.rejects(
        async () => open.push(await build(TOO_LONG)),
        (error: unknown) => {
          assert.ok(error instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${String(error)}`);
          assert.equal(error.argument, option);
          assert.equal(error.value, TOO_LONG);
          assert.match(error.message, /2147483647/);
          return true;
        },
      );
      // The largest delay Node's timers take still works, and nothing fires early or overflows.
      const overflows: Error[] = [];
      const onWarning = (warning: Error): void => {
        if (warning.name === "TimeoutOverflowWarning") overflows.push(warning);
      };
      process.on("warning", onWarning);
      try {
        open.push(await build(MAX_TIMER_DELAY));
        await new Promise((resolve) => setTimeout(resolve, 50));
      } finally {
        process.off("warning", onWarning);
      }
      assert.deepEqual(overflows, []);
    });
  }
});
