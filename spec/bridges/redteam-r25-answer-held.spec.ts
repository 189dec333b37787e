// Red team r25: an answer that falls due while the answering bus has no link open. The far server that took
// a request restarts over the same bus (its HTTP server closes and listens again; the bus and follower stay),
// or expires the asker's token after a pause longer than its ttl: either closes its link back to the asker.
// The asker's PeerLink reconnects to the same far instance (no loss told: the request may still be answered,
// and is). Before r25 such an answer went out on no link and was dropped silently, and a `timeout: Infinity`
// request waited for ever. Now the answering bus holds it (bounded: count and time) and sends it once a link
// to its asker opens again (the far server's new link back); one dropped past the bounds is reported
// (HeldAnswerDroppedError), never lost silently. The far process is spec/bridges/fixtures/held-answers-peer.ts.
// Also: a message alone over the far server's body limit (HTTP 413) was counted and reported, but an answer's
// asker (and a request's own bus) waited for ever; now it is dropped like any message a link cannot carry:
// the asker gets a RemoteError (UnsendableMessageError), the request rejects.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { type BridgeServer, PeerLink, serve } from "../../bridges/jsonrpc/index.js";
import { Bus } from "../../lib/bus.js";
import { LinkLostError } from "../../lib/errors.js";
import { within } from "../../lib/request.js";
import { RemoteError, RequestAbortedError, RequestTimeoutError } from "../../lib/request-errors.js";
import { freePort } from "../helpers/free-port.js";
import { settlesWithin, sleep, waitFor } from "../helpers/wait-for.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/held-answers-peer.ts", import.meta.url));
const retryDelay = { initial: 20, max: 200 };
const outcome = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    (value) => ({ value }),
    (error: unknown) => error,
  );

interface Line {
  event: string;
  [key: string]: unknown;
}

interface Far {
  readonly pid: number;
  readonly url: string;
  readonly lines: Line[];
  /** Resolves to the first line (from `from` on) that `match` takes. */
  line(match: (line: Line) => boolean, what: string, from?: number, timeout?: number): Promise<Line>;
  signal(signal: NodeJS.Signals): void;
  /** Writes a command line to its stdin ("close", "serve", "held"). */
  command(command: string): void;
  kill(): Promise<void>;
}

async function startFar(config: Record<string, unknown>): Promise<Far> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", FIXTURE, JSON.stringify(config)], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const lines: Line[] = [];
  let stderr = "";
  let rest = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout?.on("data", (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split("\n");
    rest = parts.pop() as string;
    for (const part of parts) if (part.trim() !== "") lines.push(JSON.parse(part) as Line);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const done = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const far: Far = {
    pid: child.pid as number,
    url: "",
    lines,
    async line(match, what, from = 0, timeout = 20_000) {
      await waitFor(() => lines.slice(from).some(match) || done(), `${what} (stderr: ${stderr})`, timeout);
      const found = lines.slice(from).find(match);
      if (found === undefined) throw new Error(`the far process exited before ${what}: ${stderr}`);
      return found;
    },
    signal(signal) {
      child.kill(signal);
    },
    command(command) {
      child.stdin?.write(`${command}\n`);
    },
    async kill() {
      if (done()) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
  const ready = await far.line((l) => l.event === "ready", "the far process to be ready");
  return { ...far, url: ready.url as string };
}

interface Asker {
  bus: Bus;
  server: BridgeServer;
  link: PeerLink;
  lost: LinkLostError[];
}

async function askerOf(id: string, far: Far, options: { ttl?: number } = {}): Promise<Asker> {
  const bus = new Bus({ id });
  bus.on("error", () => {});
  const server = await serve({ bus });
  const link = await PeerLink.connect(far.url, { bus, server, pingInterval: 100, retryDelay, ...options });
  const lost: LinkLostError[] = [];
  link.on("error", (error) => {
    if (error instanceof LinkLostError) lost.push(error);
  });
  return { bus, server, link, lost };
}

// Asks until the far bus answers through the link.
async function untilLinked(bus: Bus, busId: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const answers = await bus.request<{ bus: string }>("held:whoami", within({ count: "all", timeout: 300 }));
    if (answers.some((a) => a.ok && a.value.bus === busId)) return;
    if (Date.now() > deadline) throw new Error(`${busId} never answered`);
  }
}

// The tests run at once: each has its own far process, port and buses, and most of their time is waiting.
describe("red team r25: answers that fall due while the answering bus has no link open", { concurrency: true }, () => {
  const closing: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const close of closing.reverse()) await close();
  });

  it("the far server restarts over the same bus: the answer is held, and sent once the asker's link reconnects", async () => {
    const far = await startFar({ busId: "r25h-far", port: await freePort() });
    const { bus, server, link, lost } = await askerOf("r25h-asker", far);
    closing.push(async () => {
      await far.kill();
      await link.close();
      await server.close();
      bus.close();
    });
    await untilLinked(bus, "r25h-far");
    const asked = outcome(bus.ask("held:wait", 1, within({ timeout: Number.POSITIVE_INFINITY })));
    // Asks two answers of the one follower: it gets one, exactly once (a second copy would resolve it). The
    // held answer comes ~0.6 s after this ask (close, serve, reconnect): the timeout leaves over 4 s after it
    // for a second copy to show (it would come with the first, on the reconnected link).
    const twice = outcome(bus.request("held:wait", 2, within({ count: 2, timeout: 5_000 })));
    // Both requests are at the far follower once a later request was answered (one link, in order).
    await untilLinked(bus, "r25h-far");
    far.command("close"); // the server closes (its link back too); then both answers fall due
    const answered = await far.line((l) => l.event === "answered", "the answers while the server is closed");
    assert.equal(await settlesWithin(asked, 200), false, "not answered while no link is open");
    let from = far.lines.length;
    far.command("serve"); // listens again on the same port, over the same bus
    await far.line((l) => l.event === "served", "the server back", from);
    assert.ok(await settlesWithin(asked, 15_000), "the held answer came once the link reconnected");
    assert.deepEqual(await asked, { value: "answered 1" });
    assert.equal(answered.held, 2, "both answers were held (no link was open)");
    const ended = await twice;
    assert.ok(ended instanceof RequestTimeoutError, String(ended));
    assert.deepEqual(
      ended.answers.map((a) => (a.ok ? a.value : a.error.message)),
      ["answered 2"],
    );
    assert.equal(lost.length, 0, "the same far bus: no loss told");
    assert.equal(bus.pendingRequests, 0);
    from = far.lines.length;
    far.command("held");
    const held = await far.line((l) => l.event === "held", "the far bus's held answers", from);
    assert.deepEqual([held.held, held.dropped], [0, 0]);
    assert.equal(far.lines.filter((l) => l.event === "error" && l.code === "HELD_ANSWER_DROPPED").length, 0);
  });

  it("bounded: past the count the oldest held answer is dropped, past the time each is, and each drop is reported", async () => {
    const far = await startFar({ busId: "r25b-far", port: await freePort(), holdLimit: 2 });
    const { bus, server, link } = await askerOf("r25b-asker", far);
    closing.push(async () => {
      await far.kill();
      await link.close();
      await server.close();
      bus.close();
    });
    await untilLinked(bus, "r25b-far");
    const abort = new AbortController();
    const asks = [1, 2, 3].map((n) =>
      outcome(bus.ask("held:wait", n, within({ timeout: Number.POSITIVE_INFINITY, signal: abort.signal }))),
    );
    await untilLinked(bus, "r25b-far");
    far.command("close");
    const answered = await far.line((l) => l.event === "answered", "the answers while the server is closed");
    assert.equal(answered.held, 2, "two held: the bound");
    const dropped = far.lines.filter((l) => l.event === "error" && l.code === "HELD_ANSWER_DROPPED");
    assert.deepEqual(
      dropped.map((l) => l.reason),
      ["overflow"],
      "the oldest, reported",
    );
    const from = far.lines.length;
    far.command("serve");
    await far.line((l) => l.event === "served", "the server back", from);
    assert.ok(await settlesWithin(Promise.all(asks.slice(1)), 15_000), "the two held answers came");
    assert.deepEqual(await Promise.all(asks.slice(1)), [{ value: "answered 2" }, { value: "answered 3" }]);
    assert.equal(await settlesWithin(asks[0] as Promise<unknown>, 300), false, "the dropped one waits (its timeout)");
    abort.abort();
    assert.ok((await asks[0]) instanceof RequestAbortedError);

    // Past the time: held, dropped and reported before the link reconnects; never sent afterwards.
    const late = await startFar({ busId: "r25t-far", port: await freePort(), holdMs: 300 });
    const second = await askerOf("r25t-asker", late);
    closing.push(async () => {
      await late.kill();
      await second.link.close();
      await second.server.close();
      second.bus.close();
    });
    await untilLinked(second.bus, "r25t-far");
    const stop = new AbortController();
    const waiting = outcome(second.bus.ask("held:wait", 1, within({ timeout: Number.POSITIVE_INFINITY, signal: stop.signal })));
    await untilLinked(second.bus, "r25t-far");
    late.command("close");
    assert.equal((await late.line((l) => l.event === "answered", "the answer while the server is closed")).held, 1);
    await late.line((l) => l.event === "error" && l.code === "HELD_ANSWER_DROPPED", "the drop past 300 ms");
    assert.equal(late.lines.find((l) => l.code === "HELD_ANSWER_DROPPED")?.reason, "expired");
    const back = late.lines.length;
    late.command("serve");
    await late.line((l) => l.event === "served", "the server back", back);
    await untilLinked(second.bus, "r25t-far");
    assert.equal(await settlesWithin(waiting, 300), false, "dropped: the request waits (its timeout)");
    stop.abort();
    assert.ok((await waiting) instanceof RequestAbortedError);
  });

  it("the far process paused past the link's ttl: the far server drops the token and the link back; the answer still comes", async () => {
    const far = await startFar({ busId: "r25p-far", port: await freePort() });
    const { bus, server, link, lost } = await askerOf("r25p-asker", far, { ttl: 0.5 });
    closing.push(async () => {
      far.signal("SIGCONT");
      await far.kill();
      await link.close();
      await server.close();
      bus.close();
    });
    await untilLinked(bus, "r25p-far");
    const asked = outcome(bus.ask("held:late", 1_000, within({ timeout: Number.POSITIVE_INFINITY })));
    await untilLinked(bus, "r25p-far"); // the request is at the far follower
    far.signal("SIGSTOP");
    // The pause itself (3 times the ttl of 0.5 s): the answer (due 1 s after the ask) falls due meanwhile.
    await sleep(1_500);
    far.signal("SIGCONT");
    assert.ok(await settlesWithin(asked, 15_000), "the answer came after the pause");
    assert.match(String(((await asked) as { value?: unknown }).value), /^late from /);
    assert.equal(lost.length, 0, "a pause is no loss");
    assert.equal(bus.pendingRequests, 0);
  });

  it("an answer over the asker server's body limit (HTTP 413): the asker gets a RemoteError, not its timeout", async () => {
    const far = await startFar({ busId: "r25x-far", port: await freePort() });
    const bus = new Bus({ id: "r25x-asker" });
    bus.on("error", () => {});
    const server = await serve({ bus, maxBodySize: 20_000 });
    const link = await PeerLink.connect(far.url, { bus, server, pingInterval: 100, retryDelay });
    closing.push(async () => {
      await far.kill();
      await link.close();
      await server.close();
      bus.close();
    });
    await untilLinked(bus, "r25x-far");
    const asked = outcome(bus.ask("held:big", within({ timeout: Number.POSITIVE_INFINITY })));
    assert.ok(await settlesWithin(asked, 15_000), "the asker got an answer");
    const error = await asked;
    assert.ok(error instanceof RemoteError, String(error));
    assert.equal(error.remoteName, "UnsendableMessageError");
    assert.equal(error.bus, "r25x-far");
    await far.line((l) => l.event === "error" && l.code === "UNSENDABLE", "the drop reported on the far bus");
    // The link carries on: a small answer passes.
    assert.equal(await bus.ask("held:small", within({ timeout: 5_000 })), "small");
    assert.equal(bus.pendingRequests, 0);
  });

  it("a request over the far server's body limit (HTTP 413) rejects at once with UnsendableMessageError", async () => {
    const asker = new Bus({ id: "r25q-asker" });
    const answerer = new Bus({ id: "r25q-answerer" });
    for (const bus of [asker, answerer]) bus.on("error", () => {});
    answerer.follow("big:in", () => "taken");
    const askerServer = await serve({ bus: asker });
    const answererServer = await serve({ bus: answerer, maxBodySize: 20_000 });
    const link = await PeerLink.connect(answererServer.url, { bus: asker, server: askerServer, retryDelay });
    closing.push(async () => {
      await link.close();
      await Promise.all([askerServer.close(), answererServer.close()]);
    });
    const asked = outcome(asker.ask("big:in", "x".repeat(100_000), within({ timeout: Number.POSITIVE_INFINITY })));
    assert.ok(await settlesWithin(asked, 10_000), "the request ended");
    const error = await asked;
    assert.equal((error as Error).name, "UnsendableMessageError", String(error));
    assert.equal(link.stats.dropped, 1);
    assert.equal(await asker.ask("big:in", "small", within({ timeout: 5_000 })), "taken");
  });
});
