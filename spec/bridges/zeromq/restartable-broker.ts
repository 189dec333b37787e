// A broker child on a persist file that a test SIGKILLs and starts again on the same ports (the persistence
// specs), with an acknowledging sender and a worker. After the test, even when an assertion failed, the
// links it connected are closed (last first) and the broker is killed.
import type { TestContext } from "node:test";
import { BrokerLink } from "../../../bridges/zeromq/index.js";
import { Bus } from "../../../lib/bus.js";
import { freePort } from "../../helpers/free-port.js";
import { type BrokerChild, startBrokerChild } from "./broker-helpers.js";

/** A broker child on free ports and a persist file. */
export interface RestartableBroker {
  readonly ports: { pubPort: number; recvPort: number };
  /** SIGKILLs the running child: no shutdown, no flush. */
  kill(): Promise<void>;
  /** Starts a new child on the same ports and persist file. */
  restart(): Promise<void>;
  /** Connects bus "sender", importing nothing, acknowledging job:* (heartbeat 100 ms, sendTimeout 300 ms, retries 50–200 ms). */
  connectSender(): Promise<BrokerLink>;
  /** Connects bus "worker", importing job:* (heartbeat 100 ms); `runs` gets the first argument of each job:run, in order. */
  connectWorker(): Promise<{ link: BrokerLink; runs: number[] }>;
}

/** Starts a broker child on free ports with persist file `file`, for test `t`. */
export async function restartableBroker(t: TestContext, file: string): Promise<RestartableBroker> {
  const ports = { pubPort: await freePort(), recvPort: await freePort() };
  let broker: BrokerChild = await startBrokerChild(ports.pubPort, ports.recvPort, file);
  // A failed assertion must not leave links or the broker child running (the process would not exit).
  const cleanup: (() => Promise<unknown>)[] = [() => broker.kill()];
  t.after(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  });
  return {
    ports,
    kill: () => broker.kill(),
    restart: async () => {
      broker = await startBrokerChild(ports.pubPort, ports.recvPort, file);
    },
    connectSender: async () => {
      const sender = await BrokerLink.connect({
        bus: new Bus({ id: "sender" }),
        ...ports,
        importFilters: ["none:none"],
        acknowledge: ["job:*"],
        heartbeatInterval: 100,
        sendTimeout: 300,
        retryDelay: { initial: 50, max: 200 },
      });
      cleanup.push(() => sender.close());
      return sender;
    },
    connectWorker: async () => {
      const worker = new Bus({ id: "worker" });
      const runs: number[] = [];
      worker.follow("job:run", (m) => void runs.push(m.args[0] as number));
      const link = await BrokerLink.connect({ bus: worker, ...ports, importFilters: ["job:*"], heartbeatInterval: 100 });
      cleanup.push(() => link.close());
      return { link, runs };
    },
  };
}
