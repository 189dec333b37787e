// r32 red team: subscriptions of any length. Identifiers have no length limit, a HELLO's pattern list could
// be up to twice maxMessageBytes (32 MiB), and the broker keeps a client's last 8 replaced pattern sets (so
// that a client that unsubscribed while its follower ran still acknowledges): one client's 9 HELLOs of
// 1,000 patterns of 30 KB held 270 MB in the broker, and a dozen client ids ran it out of memory.
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { Broker } from "../../../bridges/zeromq/index.js";
import { heapUsed } from "../../helpers/heap.js";
import { waitFor } from "../../helpers/wait-for.js";
import { type RawClient, rawClient } from "./broker-helpers.js";

async function client(t: TestContext, broker: Broker, clientId: string): Promise<{ raw: RawClient; refusals: string[] }> {
  const raw = await rawClient(broker.pubPort, broker.recvPort, clientId);
  t.after(() => raw.close());
  const refusals: string[] = [];
  void (async () => {
    try {
      for await (const [kind, , error] of raw.dealer) if (kind?.toString() === "N") refusals.push(error?.toString() ?? "");
    } catch {
      // closed
    }
  })();
  return { raw, refusals };
}

// `count` patterns of `length` characters, distinct for `version`.
function patterns(version: number, count: number, length: number): string[] {
  const pad = String(version % 10).repeat(length);
  return Array.from({ length: count }, (_, k) => `${pad}${k}:b`);
}

describe("zeromq broker: bytes of a client's subscriptions (r32)", () => {
  it("refuses a pattern list over maxPatternBytes (default 1 MiB), and keeps none of it", { timeout: 30_000 }, async (t) => {
    const broker = await Broker.start({ pubPort: 0, recvPort: 0 });
    t.after(() => broker.close());
    broker.on("error", () => undefined);
    const { raw, refusals } = await client(t, broker, "00000000000000b1");
    const before = heapUsed();
    for (let version = 1; version <= 9; version++) {
      await raw.hello(patterns(version, 1_000, 30_000), version);
      await waitFor(() => refusals.length === version || raw.welcomes.includes(String(version)), `an answer to HELLO ${version}`, 10_000);
    }
    const grown = heapUsed() - before;
    assert.ok(grown < 50_000_000, `the broker kept ${Math.round(grown / 1e6)} MB of refused patterns`);
    assert.equal(refusals.length, 9, "each 30 MB list refused");
    assert.match(refusals[0] ?? "", /maxPatternBytes/);
    assert.equal(broker.clients, 0);
    // A list within the bound is taken.
    await raw.hello(["job:*"], 10);
    await waitFor(() => raw.welcomes.includes("10"), "the welcome of a small list");
  });

  it("keeps replaced pattern sets only up to maxPatternBytes", { timeout: 30_000 }, async (t) => {
    const broker = await Broker.start({ pubPort: 0, recvPort: 0, maxPatternBytes: 10_000_000 });
    t.after(() => broker.close());
    broker.on("error", () => undefined);
    const { raw, refusals } = await client(t, broker, "00000000000000b2");
    const before = heapUsed();
    for (let version = 1; version <= 9; version++) {
      await raw.hello(patterns(version, 1_000, 9_000), version); // 9 MB each
      await waitFor(() => raw.welcomes.includes(String(version)), `the welcome of HELLO ${version}`, 10_000);
    }
    const grown = heapUsed() - before;
    assert.deepEqual(refusals, []);
    // The current set and one replaced one (~18 MB); 8 replaced ones kept were ~81 MB.
    assert.ok(grown < 50_000_000, `the broker kept ${Math.round(grown / 1e6)} MB of one client's patterns`);
  });
});
