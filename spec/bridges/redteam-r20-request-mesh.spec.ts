// Red team (round 20): requests in loops of real PeerLinks (HTTP bridge servers on 127.0.0.1): a ring of
// four buses (the answerer two hops from the asker either way round) and a triangle. A request must reach
// each bus once and not circulate; its answer must arrive once.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type BridgeServer, PeerLink, serve } from "../../bridges/jsonrpc/index.js";
import { Bus } from "../../lib/bus.js";
import { within } from "../../lib/request.js";
import { sleep } from "../helpers/wait-for.js";

// Buses linked along `edges` (pairs of indexes), each link opened by the first of its pair.
function loop(name: string, size: number, edges: readonly (readonly [number, number])[]) {
  const buses = Array.from({ length: size }, (_, i) => new Bus({ id: `${name}${i}` }));
  let servers: BridgeServer[] = [];
  const links: PeerLink[] = [];
  before(async () => {
    servers = await Promise.all(buses.map((bus) => serve({ bus })));
    for (const [from, to] of edges) {
      links.push(await PeerLink.connect((servers[to] as BridgeServer).url, { bus: buses[from] as Bus, server: servers[from] as BridgeServer }));
    }
    await sleep(300); // the links tell each other their neighbours
  });
  after(async () => {
    for (const bus of buses) bus.on("error", () => {}); // servers closing one by one: links back report it
    for (const link of links) await link.close();
    await Promise.all(servers.map((server) => server.close()));
  });
  return buses;
}

// Every bus follows `identifier`, counting each request it runs; only `answerer` answers.
function counting(buses: readonly Bus[], identifier: string, answerer: Bus): Map<string, number>[] {
  return buses.map((bus) => {
    const runs = new Map<string, number>();
    bus.follow(identifier, (m) => {
      runs.set(m.messageId, (runs.get(m.messageId) ?? 0) + 1);
      return bus === answerer ? `${bus.id}:${String(m.args[0])}` : undefined;
    });
    return runs;
  });
}

describe("red team r20: requests in a ring of 4 PeerLinks", () => {
  const buses = loop("rt20ring", 4, [[0, 1], [1, 2], [2, 3], [3, 0]]);

  it("200 requests from bus 0 to bus 2, two hops either way: each runs once per bus, each answer arrives once", async () => {
    const [asker, , answerer] = buses as [Bus, Bus, Bus, Bus];
    const runs = counting(buses, "ring:ask", answerer);
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => asker.request("ring:ask", i, within({ count: "all", timeout: 1_500 }))));
    assert.deepEqual(
      answers.map((list) => list.map((a) => (a.ok ? a.value : a.error))),
      Array.from({ length: 200 }, (_, i) => [`rt20ring2:${i}`]),
    );
    await sleep(300);
    assert.ok(runs.every((byId) => byId.size === 200 && [...byId.values()].every((n) => n === 1)), "every bus ran each request once");
    assert.equal(asker.pendingRequests, 0);
  });
});

describe("red team r20: requests in a triangle of PeerLinks", () => {
  const buses = loop("rt20tri", 3, [[0, 1], [1, 2], [2, 0]]);

  it("asks from each corner to the next: one answer each, no request circulates", async () => {
    const runs = buses.map((_, i) => counting(buses, `tri${i}:ask`, buses[(i + 1) % 3] as Bus));
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 3; i++) {
        const answers = await (buses[i] as Bus).request(`tri${i}:ask`, round, within({ count: "all", timeout: 150 }));
        assert.deepEqual(
          answers.map((a) => a.ok && a.value),
          [`rt20tri${(i + 1) % 3}:${round}`],
        );
      }
    }
    await sleep(300);
    for (const perBus of runs) assert.ok(perBus.every((byId) => byId.size === 10 && [...byId.values()].every((n) => n === 1)));
  });
});
