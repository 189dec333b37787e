// Red team r32 (held up, no fix): either end of a PeerLink killed with SIGKILL while 1,000 messages are on
// their way, then started again on its port. The receiver killed: every message reaches the old process or
// the new one (what the old one took without acknowledging goes again: at-least-once across the crash), none
// twice within one process, and the sender's close reports nothing undelivered. The sender killed: what it
// had not sent dies with it (nobody is left to report it); the receiver takes none twice, and the restarted
// sender's next 1,000 arrive each exactly once.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { PeerLink, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { freePort } from "../../helpers/free-port.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { type PeerProcess, startPeer } from "./peer-process.js";

function counts(values: number[]): Map<number, number> {
  const map = new Map<number, number>();
  for (const v of values) map.set(v, (map.get(v) ?? 0) + 1);
  return map;
}

describe("red team r32: a PeerLink's far or near process killed with 1,000 messages in flight", () => {
  const closing: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const close of closing.reverse()) await close().catch(() => undefined);
  });

  it("receiver killed and restarted: each message at the old or the new process, none twice in one, nothing undelivered", async () => {
    const port = await freePort();
    let b: PeerProcess | undefined = await startPeer({ busId: "r32-inflight-b", port, follow: "fl:*" });
    let b2: PeerProcess | undefined;
    const bus = new Bus({ id: "r32-inflight-a" });
    bus.on("error", () => {});
    const server = await serve({ bus });
    const link = await PeerLink.connect(b.url, { bus, server, pingInterval: 100, retryDelay: { initial: 20, max: 200 } });
    closing.push(async () => {
      await link.close();
      await server.close();
      await b?.kill();
      await b2?.kill();
      bus.close();
    });
    await waitFor(() => link.streaming, "the stream", 10_000);
    const old = b;
    // Ten batches of 100, one per turn: the kill lands while some are on their way.
    for (let batch = 0; batch < 10; batch++) {
      for (let i = 0; i < 100; i++) bus.twitter("fl:m", batch * 100 + i);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor(() => old.messages("fl:m").length >= 200, "the old B to take some", 10_000);
    await old.kill();
    b = undefined;
    b2 = await startPeer({ busId: "r32-inflight-b", port, follow: "fl:*" });
    const fresh = b2;
    const at = (p: PeerProcess): number[] => p.messages("fl:m").map((e) => (e.args as number[])[0] as number);
    await waitFor(() => new Set([...at(old), ...at(fresh)]).size === 1_000, "all 1,000 at the old or the new B", 20_000);
    await sleep(300);
    for (const [name, p] of [
      ["old", old],
      ["new", fresh],
    ] as const) {
      const twice = [...counts(at(p))].filter(([, n]) => n > 1);
      assert.deepEqual(twice, [], `none twice at the ${name} B`);
    }
    assert.ok(at(old).length < 1_000, `the kill landed mid-stream (old B took ${at(old).length})`);
    const report = await link.close();
    assert.equal(report.undelivered.length, 0);
  });

  it("receiver paused (SIGSTOP) past the sender's timeout with 1,000 in flight, then resumed: each exactly once", async () => {
    const b = await startPeer({ busId: "r32-paused-b", follow: "ps:*" });
    const bus = new Bus({ id: "r32-paused-a" });
    bus.on("error", () => {});
    const server = await serve({ bus });
    // A timeout far below the pause: the stream is cut under its batch and the batch goes again as POSTs,
    // while the paused process still has the stream's frames in its socket to read once resumed.
    const link = await PeerLink.connect(b.url, {
      bus,
      server,
      timeout: 300,
      pingInterval: 100,
      retryDelay: { initial: 20, max: 200 },
    });
    closing.push(async () => {
      b.resume();
      await link.close();
      await server.close();
      await b.kill();
      bus.close();
    });
    await waitFor(() => link.streaming, "the stream", 10_000);
    b.pause();
    for (let i = 0; i < 1_000; i++) bus.twitter("ps:m", i);
    await sleep(1_500);
    b.resume();
    const at = (): number[] => b.messages("ps:m").map((e) => (e.args as number[])[0] as number);
    await waitFor(() => new Set(at()).size === 1_000, "all 1,000 at B", 20_000);
    await waitFor(() => link.backlog === 0, "the sender's buffer to empty", 20_000);
    await sleep(300);
    assert.deepEqual(
      [...counts(at())].filter(([, n]) => n > 1),
      [],
      "none twice",
    );
    assert.ok(link.stats.retries > 0, "the pause cut through the sender's timeout");
  });

  it("sender killed mid-burst and restarted: the receiver takes none twice, and the next 1,000 each once", async () => {
    const bus = new Bus({ id: "r32-inflight-recv" });
    bus.on("error", () => {});
    const got: number[] = [];
    const got2: number[] = [];
    bus.follow("burst:one", (m) => void got.push(m.args[0] as number));
    bus.follow("burst:two", (m) => void got2.push(m.args[0] as number));
    const server = await serve({ bus });
    let a: PeerProcess | undefined = await startPeer({ busId: "r32-inflight-send", peers: [server.url] });
    let a2: PeerProcess | undefined;
    closing.push(async () => {
      await a?.kill();
      await a2?.kill();
      await server.close();
      bus.close();
    });
    a.command({ cmd: "burst", id: "burst:one", count: 20_000 });
    await waitFor(() => got.length >= 500, "part of the burst", 20_000);
    await a.kill();
    a = undefined;
    await sleep(300);
    const twice = [...counts(got)].filter(([, n]) => n > 1);
    assert.deepEqual(twice, [], "none of the first burst twice");
    a2 = await startPeer({ busId: "r32-inflight-send", peers: [server.url] });
    a2.command({ cmd: "burst", id: "burst:two", count: 1_000 });
    await waitFor(() => got2.length >= 1_000, "the restarted sender's 1,000", 20_000);
    await sleep(300);
    assert.equal(got2.length, 1_000);
    assert.equal(new Set(got2).size, 1_000);
  });
});
