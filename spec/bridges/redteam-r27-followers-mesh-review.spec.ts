// Red team r27 (review of r27-link): since a bus leaves a message to its sender only when the far bus said
// it takes it from the sender, a full mesh whose links import what their bus follows (`importFilters:
// "followers"`) carried each message to every bus that does not follow it from every bus that does: the far
// bus refused it from both, so the bus forwarded it. With N buses, a message crossed up to N²/4 links
// rather than the N−1 the README promises (11 in a mesh of 6 where 3 follow it, 5 before r27). A link now
// tells its neighbours that its imports are its bus's followers; a far bus whose links to the sender and
// to this bus both say so takes from this bus exactly what it takes from the sender, so the message is left
// to the sender. Nothing is lost: a follower added this very tick is reached (by the sender).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type BridgeServer, PeerLink, serve } from "../../bridges/jsonrpc/index.js";
import type { Link } from "../../bridges/link.js";
import { linkTableOf } from "../../bridges/link-table.js";
import { Bus } from "../../lib/bus.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { sleep, waitFor } from "../helpers/wait-for.js";

function sentBy(links: readonly Link[]): number {
  return links.reduce((sum, link) => sum + link.stats.sent, 0);
}

function fullMesh(prefix: string, n: number): { buses: Bus[]; links: MemoryLink[] } {
  const buses = Array.from({ length: n }, (_, i) => new Bus({ id: `${prefix}${i}` }));
  const links: MemoryLink[] = [];
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++)
      links.push(
        ...MemoryLink.pair(
          { bus: buses[i] as Bus, importFilters: "followers" },
          { bus: buses[j] as Bus, importFilters: "followers" },
        ),
      );
  return { buses, links };
}

describe("a full mesh of links importing their bus's followers (in-process links)", () => {
  it("a message crosses N−1 links, once to each bus, whoever follows it", async () => {
    const { buses, links } = fullMesh("fwa", 6);
    const got = new Map<string, number>();
    for (let i = 1; i < 6; i += 2) buses[i]?.follow("y:*", () => void got.set(`${i}`, (got.get(`${i}`) ?? 0) + 1));
    await sleep(30); // the links tell each other their neighbours
    const before = sentBy(links);
    for (let k = 0; k < 10; k++) buses[0]?.twitter("y:1", k);
    await waitFor(() => [...got.values()].reduce((x, y) => x + y, 0) === 30, "each follower got 10", 2_000);
    await sleep(30);
    assert.deepEqual([...got.entries()].sort(), [
      ["1", 10],
      ["3", 10],
      ["5", 10],
    ]);
    assert.equal(sentBy(links) - before, 10 * 5, "5 crossings a message (11 without the fix)");
    for (const link of links) await link.close();
  });

  it("a follower added in the same tick as the message still gets it (from the sender)", async () => {
    const { buses, links } = fullMesh("fwb", 4);
    const got: number[] = [];
    buses[1]?.follow("z:*", () => {});
    await sleep(30);
    // Bus 3 follows z:* now; its links' announcements have not gone yet.
    buses[3]?.follow("z:*", (m) => void got.push(m.args[0] as number));
    buses[0]?.twitter("z:1", 1);
    await waitFor(() => got.length === 1, "z:1 on bus 3", 2_000);
    await sleep(30);
    assert.deepEqual(got, [1]);
    for (const link of links) await link.close();
  });

  it("a link whose filters were changed by hand no longer counts as importing its bus's followers", async () => {
    const { buses, links } = fullMesh("fwc", 3);
    const [a, b, c] = buses as [Bus, Bus, Bus];
    const got: string[] = [];
    b.follow("w:*", () => {});
    await sleep(30);
    // c's link to b takes w:* by hand (c follows nothing): only b can send it to c.
    const cb = links.find((link) => link.bus === c && link.linkedBusId === "fwc1") as MemoryLink;
    await cb.subscribe("w:*");
    c.on("message", (m) => void got.push(m.id));
    await sleep(30);
    a.twitter("w:1", 1);
    await waitFor(() => got.length === 1, `w:1 on c through b (got ${JSON.stringify(got)})`, 2_000);
    for (const link of links) await link.close();
  });
});

describe("a full mesh of PeerLinks importing their bus's followers (HTTP, 127.0.0.1)", () => {
  it("a message crosses N−1 links", async () => {
    const ids = ["fpa", "fpb", "fpc", "fpd"];
    const buses = ids.map((id) => new Bus({ id }));
    const servers: BridgeServer[] = await Promise.all(
      buses.map((bus) => serve({ bus, peerLink: { importFilters: "followers" } })),
    );
    const links: PeerLink[] = [];
    const got: string[] = [];
    try {
      for (let i = 0; i < 4; i++)
        for (let j = i + 1; j < 4; j++)
          links.push(
            await PeerLink.connect((servers[j] as BridgeServer).url, {
              bus: buses[i] as Bus,
              server: servers[i] as BridgeServer,
              importFilters: "followers",
            }),
          );
      buses[1]?.follow("v:*", (m) => void got.push(`b ${m.args[0]}`));
      buses[2]?.follow("v:*", (m) => void got.push(`c ${m.args[0]}`));
      await sleep(400); // the links tell each other their neighbours
      // Each bus's one link to each other bus (its own, or the one its server opened back).
      const all = buses.flatMap((bus) =>
        ids.filter((id) => id !== bus.id).map((id) => linkTableOf(bus).routeTo(id) as unknown as Link),
      );
      assert.equal(new Set(all).size, 12);
      const before = sentBy(all);
      for (let k = 0; k < 5; k++) buses[0]?.twitter("v:1", k);
      await waitFor(() => got.length === 10, `each follower got 5 (got ${JSON.stringify(got)})`, 3_000);
      await sleep(100);
      assert.equal(got.length, 10);
      assert.equal(sentBy(all) - before, 5 * 3, "3 crossings a message (5 without the fix)");
    } finally {
      for (const bus of buses) bus.on("error", () => {});
      for (const link of links) await link.close();
      await Promise.all(servers.map((server) => server.close()));
    }
  });
});
