// Red team (round 20): request/response against real child processes over every link (PeerLink, RedisLink
// on a real redis-server, BrokerLink through a real ZeroMQ broker): a flood of concurrent asks, some
// failing; kill -9 of the answering process with hundreds of requests in flight; balanced requests across
// two processes, one of them killed.
import { randomUUID } from "node:crypto";
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { serve } from "../../bridges/jsonrpc/index.js";
import { RedisLink } from "../../bridges/redis/redis-link.js";
import { Broker, BrokerLink } from "../../bridges/zeromq/index.js";
import { Bus } from "../../lib/bus.js";
import { within } from "../../lib/request.js";
import { RemoteError, RequestLinkClosedError, RequestTimeoutError } from "../../lib/request-errors.js";
import { freePort } from "../helpers/free-port.js";
import { type RedisServer, startRedis } from "../helpers/redis-server.js";
import { settlesWithin, sleep } from "../helpers/wait-for.js";
import type { RequestSetup } from "./link-conformance.js";
import { type RequestPeer, startRequestPeer } from "./request-process.js";
import { untilLinked } from "./linked-child.js";

/** A RequestSetup whose link (or the links its bridge server made back) can be closed alone. */
interface ClosableSetup extends RequestSetup {
  closeLink(): Promise<void>;
}

function attack(transport: string, setup: () => Promise<ClosableSetup>): void {
  describe(`red team r20: requests to child processes over ${transport}`, () => {
    let linked: ClosableSetup;
    const children: RequestPeer[] = [];
    const spawn = async (busId: string): Promise<RequestPeer> => {
      const child = await startRequestPeer({ ...linked.peer, busId });
      children.push(child);
      assert.equal(await untilLinked(linked.bus, busId, "rq:whoami"), child.pid);
      return child;
    };
    before(async () => {
      linked = await setup();
      linked.bus.on("error", () => {}); // killed children make links report; the tests check what matters
    });
    after(async () => {
      // All at once: over jsonrpc each child's graceful close tries its link to the parent's server the
      // last test closed, ~1.3 s each one after the other.
      await Promise.all(children.map((child) => child.stop()));
      await linked.close();
    });

    it("1,000 concurrent asks, every third to a follower that throws: each caller gets its own value or RemoteError, once", async () => {
      const busId = `rt20-${transport}-flood`;
      await spawn(busId);
      const settled = new Map<number, number>();
      const outcomes = await Promise.all(
        Array.from({ length: 1_000 }, (_, i) => {
          const asked = i % 3 === 0 ? linked.bus.ask("rq:fail", i, within({ timeout: 30_000 })) : linked.bus.ask("rq:add", i, 7, within({ timeout: 30_000 }));
          return asked.then(
            (value) => {
              settled.set(i, (settled.get(i) ?? 0) + 1);
              return value;
            },
            (error: unknown) => {
              settled.set(i, (settled.get(i) ?? 0) + 1);
              return error instanceof RemoteError ? `${error.remoteName} from ${error.bus}` : error;
            },
          );
        }),
      );
      assert.deepEqual(
        outcomes,
        Array.from({ length: 1_000 }, (_, i) => (i % 3 === 0 ? `TypeError from ${busId}` : i + 7)),
      );
      assert.equal(settled.size, 1_000);
      assert.ok([...settled.values()].every((n) => n === 1));
      assert.equal(linked.bus.pendingRequests, 0);
      await children.pop()?.stop();
    });

    it("kill -9 with 300 requests in flight: every one rejects typed at its timeout, none hangs, the table empties", async () => {
      const child = await spawn(`rt20-${transport}-killed`);
      const flights = Array.from({ length: 300 }, (_, i) => {
        const options = within({ timeout: 1_500 + (i % 3) * 100 });
        const asked = i % 2 === 0 ? linked.bus.ask("rq:slow", i, options) : linked.bus.request("rq:slow", i, options);
        return asked.then(
          () => "answered",
          (error: unknown) => (error instanceof RequestTimeoutError ? "timeout" : String(error)),
        );
      });
      await sleep(150); // the child is working on them
      await child.kill();
      const outcomes = await Promise.all(flights);
      assert.deepEqual(new Set(outcomes), new Set(["timeout"]));
      assert.equal(linked.bus.pendingRequests, 0);
      children.pop();
    });

    it("balanced asks across two processes: each runs on one; after one is killed -9, at most one ask fails and the rest go to the other", async () => {
      const [first, second] = [`rt20-${transport}-b1`, `rt20-${transport}-b2`];
      const killed = await spawn(first);
      await spawn(second);
      await linked.bus.request("rq:whoami", within({ balanced: true, count: 2, timeout: 5_000 })); // discovery: both answer
      const who: string[] = [];
      for (let i = 0; i < 10; i++) {
        who.push((await linked.bus.ask<{ bus: string }>("rq:whoami", within({ balanced: true, timeout: 5_000 }))).bus);
      }
      assert.deepEqual(
        [who.filter((b) => b === first).length, who.filter((b) => b === second).length],
        [5, 5],
        `round-robin: ${who.join(",")}`,
      );
      await killed.kill();
      const after: string[] = [];
      for (let i = 0; i < 8; i++) {
        try {
          after.push((await linked.bus.ask<{ bus: string }>("rq:whoami", within({ balanced: true, timeout: 500 }))).bus);
        } catch (error) {
          assert.ok(error instanceof RequestTimeoutError, String(error));
          after.push("timeout");
        }
      }
      assert.ok(after.filter((b) => b === "timeout").length <= 1, after.join(","));
      assert.deepEqual(new Set(after.slice(-6)), new Set([second]), after.join(","));
      assert.equal(linked.bus.pendingRequests, 0);
    });

    // Last: it closes the parent's link.
    it("the parent's link closed with 100 requests waiting on the child, no timeout: each ends with RequestLinkClosedError", async () => {
      await spawn(`rt20-${transport}-closed`);
      const waiting = Array.from({ length: 100 }, (_, i) => {
        const options = within({ timeout: Number.POSITIVE_INFINITY });
        const asked = i % 2 === 0 ? linked.bus.ask("rq:slow", i, options) : linked.bus.request("rq:slow", i, options);
        return asked.then(
          () => "answered",
          (error: unknown) => (error instanceof RequestLinkClosedError ? "link closed" : String(error)),
        );
      });
      await sleep(50);
      await linked.closeLink();
      assert.ok(await settlesWithin(Promise.all(waiting), 5_000), "they ended when the link closed");
      assert.deepEqual(new Set(await Promise.all(waiting)), new Set(["link closed"]));
      assert.equal(linked.bus.pendingRequests, 0);
    });
  });
}

attack("jsonrpc", async () => {
  const bus = new Bus({ id: "rt20-parent-jsonrpc" });
  const server = await serve({ bus });
  return {
    bus,
    peer: { transport: "jsonrpc", url: server.url },
    closeLink: () => server.close(),
    close: async () => {
      await server.close();
      bus.close();
    },
  };
});

let redis: RedisServer;
before(async () => {
  redis = await startRedis();
});
after(async () => {
  await redis.stop();
});

attack("redis", async () => {
  const bus = new Bus({ id: "rt20-parent-redis" });
  const prefix = `rt20-${randomUUID()}:`;
  const link = await RedisLink.connect({ bus, connection: redis.url, prefix });
  return {
    bus,
    peer: { transport: "redis", url: redis.url, prefix },
    closeLink: async () => void (await link.close()),
    close: async () => {
      await link.close();
      bus.close();
    },
  };
});

attack("zeromq", async () => {
  const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
  const bus = new Bus({ id: "rt20-parent-zeromq" });
  const link = await BrokerLink.connect({ bus, pubPort: broker.pubPort, recvPort: broker.recvPort });
  return {
    bus,
    peer: { transport: "zeromq", pubPort: broker.pubPort, recvPort: broker.recvPort },
    closeLink: async () => void (await link.close()),
    close: async () => {
      await link.close();
      bus.close();
      broker.close();
    },
  };
});
