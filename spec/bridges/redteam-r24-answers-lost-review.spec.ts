// Review of r24's "a PeerLink lost its far side" (redteam-r24-answers-lost): a request that would still be
// answered must never be rejected as lost. Found wrong, each case here failed before the fix:
// - any handshake after the first was read as a restart, but a far server that only dropped the link's
//   token (idle past its ttl: `ttl: 1` pinged every 2 s; or its server restarted over the same bus) still
//   answers. Now the handshake's answer carries the far bus's instance id: only another one is a loss;
//   pings go within the ttl by default, and a pingInterval that cannot keep the token is refused;
// - a far side paused (SIGSTOP) longer than the ttl and a ping was reported lost and its answer thrown
//   away: only refused connections (nothing listens on its port) count towards a loss now;
// - a request still in the link's buffer at a loss (spared: it goes to the far side reached next) was
//   counted as carried by nothing: an unrelated link closing rejected it while the restarted far side was
//   answering it, and a second loss of the far side that took it never ended it.
// An older berrymq server (no instance) is not told restarted by its handshake: its requests wait (or end by
// refusals past the ttl). The child is spec/bridges/fixtures/request-peer.ts (transport jsonrpc-server: the
// parent links to it), or spec/bridges/fixtures/older-peer-server.ts.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, describe, it } from "node:test";
import { PeerLink, serve } from "../../bridges/jsonrpc/index.js";
import { Bus } from "../../lib/bus.js";
import { InvalidArgumentError, LinkLostError } from "../../lib/errors.js";
import { within } from "../../lib/request.js";
import { RequestLinkClosedError } from "../../lib/request-errors.js";
import { freePort } from "../helpers/free-port.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { settlesWithin, sleep, waitFor } from "../helpers/wait-for.js";
import { closeLinked, untilLinked } from "./linked-child.js";
import { type RequestPeer, startRequestPeer } from "./request-process.js";

const outcome = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    (value) => ({ value }),
    (error: unknown) => error,
  );
const retryDelay = { initial: 20, max: 200 };

interface Setup {
  bus: Bus;
  link: PeerLink;
  lost: LinkLostError[];
  child: () => RequestPeer;
  /** Starts the child again on its port (after `child().kill()`). */
  start: () => Promise<RequestPeer>;
}

// Each describe runs its tests at once (concurrency: true): every test has its own asking bus (own id,
// bridge server, link), its own child process on a port of its own, and asserts on its own link's losses
// and its own bus's requests only. What must not happen (a loss told while the far side is silent or
// paused) is watched as long as before; extra load only makes a silence longer.
const closing: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const close of closing.reverse()) await close();
});

// An asking bus linked (ttl and pingInterval as given) to a child serving on a port of its own.
async function linked(id: string, options: { ttl?: number; pingInterval?: number } = {}): Promise<Setup> {
  const bus = new Bus({ id: `${id}-asker` });
  bus.on("error", () => {});
  const server = await serve({ bus });
  const busId = `${id}-child`;
  const port = await freePort();
  let child = await startRequestPeer({ busId, transport: "jsonrpc-server", port });
  const link = await PeerLink.connect(child.url as string, { bus, server, retryDelay, ...options });
  const lost: LinkLostError[] = [];
  link.on("error", (error) => {
    if (error instanceof LinkLostError) lost.push(error);
  });
  closing.push(async () => {
    process.kill(child.pid, "SIGCONT");
    await closeLinked(() => child, link, server, bus)();
  });
  await untilLinked(bus, busId);
  return {
    bus,
    link,
    lost,
    child: () => child,
    start: async () => {
      child = await startRequestPeer({ busId, transport: "jsonrpc-server", port });
      return child;
    },
  };
}

describe("red team r24 review: a far side that can still answer is not lost", { concurrency: true }, () => {
  it("ttl 1 s, default pingInterval: a far side answering after 3 s is answered, no loss", async () => {
    const { bus, lost, child } = await linked("r24v-ttl", { ttl: 1 });
    const started = performance.now();
    const got = await outcome(bus.ask("r24:late", 3_000, within({ timeout: Number.POSITIVE_INFINITY })));
    assert.deepEqual(got, { value: `late from ${child().pid}` });
    assert.ok(performance.now() - started >= 2_900);
    assert.deepEqual(lost, []);
  });

  it("a pingInterval the ttl cannot keep alive is refused", async () => {
    const bus = new Bus({ id: "r24v-ping" });
    const server = await serve({ bus });
    try {
      for (const [ttl, pingInterval] of [
        [1, 1_000],
        [1, 2_000],
        [60, 60_000],
      ] as const) {
        assert.throws(
          () => new PeerLink("http://127.0.0.1:9/", { bus, server, ttl, pingInterval }),
          (error: unknown) => error instanceof InvalidArgumentError && /pingInterval/.test(error.message),
          `ttl ${ttl}, pingInterval ${pingInterval}`,
        );
      }
      // Less than the ttl, or the far server's default ttl (0, unknown here): taken.
      await new PeerLink("http://127.0.0.1:9/", { bus, server, ttl: 1, pingInterval: 999 }).close();
      await new PeerLink("http://127.0.0.1:9/", { bus, server, ttl: 0, pingInterval: 60_000 }).close();
    } finally {
      await server.close();
      bus.close();
    }
  });

  it("the far server restarts over the same bus (it forgot the token; the follower goes on): answered, no loss", async () => {
    const { bus, lost, child } = await linked("r24v-same", { pingInterval: 100 });
    const asked = outcome(bus.ask("r24:late", 2_500, within({ timeout: Number.POSITIVE_INFINITY })));
    await sleep(300);
    process.kill(child().pid, "SIGUSR2");
    assert.deepEqual(await asked, { value: `late from ${child().pid}` });
    assert.deepEqual(lost, []);
    assert.equal(await bus.ask("r23:add", 2, 3, within({ timeout: 5_000 })), 5, "linked again");
  });

  it("a far side paused (SIGSTOP) longer than ttl + pingInterval: no loss, its answer comes after SIGCONT", async () => {
    const { bus, lost, child } = await linked("r24v-stop", { ttl: 1, pingInterval: 100 });
    // Answered 4 s after it was taken: after the link is up again (the far server may expire the token
    // once it runs again, and the link then interconnects again: the same instance).
    const asked = outcome(bus.ask("r24:late", 4_000, within({ timeout: Number.POSITIVE_INFINITY })));
    await sleep(150);
    process.kill(child().pid, "SIGSTOP");
    await sleep(2_500);
    assert.equal(await settlesWithin(asked, 0), false, "still waiting while paused");
    process.kill(child().pid, "SIGCONT");
    assert.ok(await settlesWithin(asked, 10_000), "answered after SIGCONT");
    assert.deepEqual(await asked, { value: `late from ${child().pid}` });
    assert.deepEqual(lost, []);
  });
});

describe("red team r24 review: a request buffered across a loss is carried by the link from then on", {
  concurrency: true,
}, () => {
  it("an unrelated link closing does not end it while the restarted far side answers it", async () => {
    const { bus, link, lost, child, start } = await linked("r24v-p1b", { pingInterval: 100 });
    const other = new Bus({ id: "r24v-p1b-other" });
    const memory = MemoryLink.pair({ bus }, { bus: other });
    await child().kill();
    // Opened while the far side is down: it stays in the link's buffer, and goes to the restarted one.
    const asked = outcome(bus.ask("r24:late", 1_500, within({ timeout: Number.POSITIVE_INFINITY })));
    await waitFor(() => link.isDown, "the link to notice the far side is down", 10_000);
    await start();
    await waitFor(() => lost.length === 1, "the loss (another process answers there)", 20_000);
    await waitFor(() => !link.isDown, "the buffer delivered", 10_000);
    // An unrelated link closes while the new far side works on it.
    for (const m of memory) await m.close();
    other.close();
    assert.deepEqual(await asked, { value: `late from ${child().pid}` });
  });

  it("a later loss of the far side that took it ends it", async () => {
    const { bus, link, lost, child, start } = await linked("r24v-p1a", { pingInterval: 100 });
    await child().kill();
    // Opened while the far side is down (buffered): the restarted process answers "quick" and never again.
    const asked = outcome(bus.request<string>("r23:some", within({ count: 2, timeout: Number.POSITIVE_INFINITY })));
    await waitFor(() => link.isDown, "the link to notice the far side is down", 10_000);
    const second = await start();
    await waitFor(() => lost.length === 1, "the first loss", 20_000);
    await untilLinked(bus, "r24v-p1a-child");
    assert.equal(await settlesWithin(asked, 300), false, "the restarted far side took it: it waits");
    // The process that took it is killed and another starts there: it ends, with the answer that came.
    await second.kill();
    await start();
    await waitFor(() => lost.length === 2, "the second loss", 20_000);
    assert.ok(await settlesWithin(asked, 5_000), "the request ended");
    const ended = await asked;
    assert.ok(ended instanceof RequestLinkClosedError, String(ended));
    assert.ok(ended.cause instanceof LinkLostError);
    assert.deepEqual(
      ended.answers.map((a) => (a.ok ? a.value : a.error.message)),
      [`quick from ${second.pid}`],
    );
    assert.equal(bus.pendingRequests, 0);
  });
});

// The far server as an older berrymq answers (spec/bridges/fixtures/older-peer-server.ts): no `instance`.
async function startOlder(busId: string, port: number): Promise<{ pid: number; kill: () => Promise<void> }> {
  const fixture = new URL("./fixtures/older-peer-server.ts", import.meta.url).pathname;
  const child = spawn(process.execPath, ["--import", "tsx", fixture, JSON.stringify({ busId, port })], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => chunk.toString().includes('"ready"') && resolve());
    void exited.then(() => reject(new Error(`${busId} exited early`)));
  });
  return {
    pid: child.pid as number,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
}

describe("red team r24 review: an older berrymq server tells no instance", { concurrency: true }, () => {
  it("restarted on its port within the ttl: no loss told (it cannot be told apart from a dropped token)", async () => {
    const bus = new Bus({ id: "r24v-older-asker" });
    bus.on("error", () => {});
    const server = await serve({ bus });
    const busId = "r24v-older-child";
    const port = await freePort();
    let child = await startOlder(busId, port);
    const link = await PeerLink.connect(`http://127.0.0.1:${port}/`, { bus, server, ttl: 60, pingInterval: 100, retryDelay });
    const lost: LinkLostError[] = [];
    link.on("error", (error) => {
      if (error instanceof LinkLostError) lost.push(error);
    });
    closing.push(closeLinked(() => child, link, server, bus));
    const first = await untilLinked(bus, busId);
    assert.equal(first, child.pid);
    const asked = outcome(bus.request<string>("r23:some", within({ count: 2, timeout: Number.POSITIVE_INFINITY })));
    assert.equal(await bus.ask<string>("r23:some", within({ timeout: 5_000 })), `quick from ${first}`);
    // Its batch acknowledged too (answers come by the link back, the acknowledgement by the front): a batch
    // still in flight at the kill would go again, to the new process, and be answered there.
    await waitFor(() => link.backlog === 0, "the batch acknowledged", 10_000);
    await child.kill();
    child = await startOlder(busId, port);
    assert.equal(await untilLinked(bus, busId), child.pid, "linked to the new process");
    assert.deepEqual(lost, []);
    assert.equal(await settlesWithin(asked, 300), false, "the request waits (for its timeout, or the link closing)");
    await link.close();
    assert.ok((await asked) instanceof RequestLinkClosedError);
  });

  it("killed for good: refused past the ttl and a ping, the requests it carried end", async () => {
    const bus = new Bus({ id: "r24v-gone-asker" });
    bus.on("error", () => {});
    const server = await serve({ bus });
    const busId = "r24v-gone-child";
    const port = await freePort();
    const child = await startOlder(busId, port);
    const link = await PeerLink.connect(`http://127.0.0.1:${port}/`, { bus, server, ttl: 1, pingInterval: 100, retryDelay });
    closing.push(closeLinked(() => child, link, server, bus));
    const pid = await untilLinked(bus, busId);
    const asked = outcome(bus.request<string>("r23:some", within({ count: 2, timeout: Number.POSITIVE_INFINITY })));
    assert.equal(await bus.ask<string>("r23:some", within({ timeout: 5_000 })), `quick from ${pid}`);
    // A request whose batch is still in flight at the kill counts as unsent: it waits for the next far side.
    await waitFor(() => link.backlog === 0, "the batch acknowledged", 10_000);
    const killed = performance.now();
    await child.kill();
    assert.ok(await settlesWithin(asked, 20_000), "the request ended");
    assert.ok(performance.now() - killed >= 1_000, "not before the ttl");
    const ended = await asked;
    assert.ok(ended instanceof RequestLinkClosedError, String(ended));
    assert.ok(ended.cause instanceof LinkLostError);
    assert.match(ended.cause.message, /refused/);
  });
});
