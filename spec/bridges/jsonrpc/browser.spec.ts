// A real web page in headless Chromium attacks every server berrymq runs that speaks HTTP: the bridge
// server (what berryMQ 0.3's three styles and berrymq's JSON-RPC 2.0 methods reach), its link-stream
// upgrade while a PeerLink streams, and `berrymq serve` (the CLI) in its own process. Pages come from an
// attacker's server on another origin (127.0.0.1 and localhost on another port) and from
// http://evil.test:<server port>/, which Chromium resolves to loopback (DNS rebinding: the page and the
// server are then the same origin). Whatever the page tries, nothing may reach a bus, the servers keep
// serving legitimate clients, and what the browser got is what the README says.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createServer, type Server } from "node:net";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { BridgeErrorCode, type BridgeServer, PeerLink, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import type { Message } from "../../../lib/message.js";
import {
  type AttackerSite,
  EVIL_HOST,
  type Exchange,
  launchBrowser,
  requireChromium,
  startAttackerSite,
  type TestBrowser,
  type WatchedPage,
} from "../../helpers/browser.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { post } from "./raw-http.js";

type Legacy = { id: unknown; result: unknown; error: { code: number; message: string } | null };
type Rpc = { jsonrpc?: string; id: unknown; result?: unknown; error?: { code: number; message: string } };

const CLI = fileURLToPath(new URL("../../../bridges/cli/main.ts", import.meta.url));

// What the page runs: one function per way a page can make Chromium send something, each returning what
// the page itself saw. Plain JavaScript installed as a script tag (functions tsx compiled would carry
// helpers the page lacks).
const PAGE_SCRIPT = `
window.attack = async function (vector, target, bodies) {
  var seen = [];
  var settle = function (ms) { return new Promise(function (r) { setTimeout(r, ms); }); };
  var read = async function (answer) { return "HTTP " + answer.status + " " + (await answer.text()); };
  var fail = function (error) { return "error " + error.name; };
  var frameLoad = function (frame) { return new Promise(function (r) { frame.onload = r; setTimeout(r, 3000); }); };
  for (var i = 0; i < bodies.length; i++) {
    var body = bodies[i];
    if (vector === "fetch text/plain") {
      seen.push(await fetch(target, { method: "POST", headers: { "content-type": "text/plain" }, body: body }).then(read, fail));
    } else if (vector === "fetch form-urlencoded") {
      seen.push(await fetch(target, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: body }).then(read, fail));
    } else if (vector === "fetch application/json") {
      seen.push(await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body: body }).then(read, fail));
    } else if (vector === "fetch no-cors") {
      seen.push(await fetch(target, { method: "POST", mode: "no-cors", body: body }).then(function (a) { return "opaque " + a.type; }, fail));
    } else if (vector === "fetch no-cors json blob") {
      var blob = new Blob([body], { type: "application/json" });
      seen.push(await fetch(target, { method: "POST", mode: "no-cors", body: blob }).then(function (a) { return "opaque " + a.type; }, fail));
    } else if (vector === "sendBeacon") {
      seen.push("queued " + navigator.sendBeacon(target, body));
      try { seen.push("queued " + navigator.sendBeacon(target, new Blob([body], { type: "application/json" }))); } catch (e) { seen.push(fail(e)); }
    } else if (vector === "form") {
      // The classic JSON-by-form trick: enctype text/plain sends name=value, the name holding the JSON up to
      // a padding member whose value closes it; and an urlencoded form.
      for (var enctype of ["text/plain", "application/x-www-form-urlencoded"]) {
        var frame = document.createElement("iframe");
        frame.name = "sink" + i + enctype.length;
        document.body.appendChild(frame);
        var form = document.createElement("form");
        form.method = "POST"; form.action = target; form.enctype = enctype; form.target = frame.name;
        var input = document.createElement("input");
        input.type = "hidden"; input.name = body.slice(0, -1) + ',"pad":"'; input.value = '"}';
        form.appendChild(input);
        document.body.appendChild(form);
        var loaded = frameLoad(frame);
        form.submit();
        await loaded;
        seen.push("form " + enctype + " submitted");
      }
    } else if (vector === "ping") {
      var link = document.createElement("a");
      link.href = "#pinged" + i; link.ping = target; link.textContent = "x";
      document.body.appendChild(link);
      link.click();
      seen.push("ping sent");
    } else if (vector === "websocket") {
      if (i > 0) break;
      for (var path of ["/", "/JSON"]) {
        seen.push(await new Promise(function (resolve) {
          var ws;
          try { ws = new WebSocket(target.replace(/^http/, "ws").replace(/\\/(JSON)?$/, "") + path); } catch (e) { resolve(fail(e)); return; }
          var opened = false;
          ws.onopen = function () { opened = true; };
          ws.onclose = function (event) { resolve((opened ? "ws opened, closed " : "ws refused, closed ") + event.code); };
        }));
      }
    } else if (vector === "huge") {
      if (i > 0) break;
      var huge = body.slice(0, -1) + ',"pad":"' + "x".repeat(8 * 1024 * 1024) + '"}';
      seen.push(await fetch(target, { method: "POST", headers: { "content-type": "text/plain" }, body: huge }).then(read, fail));
      seen.push(await fetch(target, { method: "POST", mode: "no-cors", body: huge }).then(function (a) { return "opaque " + a.type; }, fail));
      seen.push(await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body: huge }).then(read, fail));
    } else if (vector === "loop") {
      if (i > 0) break;
      var all = [];
      for (var n = 0; n < 300; n++) {
        var one = bodies[n % bodies.length];
        all.push(fetch(target, { method: "POST", mode: "no-cors", body: one }).then(function () { return "ok"; }, fail));
        if (n % 3 === 0) navigator.sendBeacon(target, one);
      }
      var outcomes = await Promise.all(all);
      seen.push("loop " + outcomes.filter(function (o) { return o === "ok"; }).length + " answered");
    } else {
      throw new Error("unknown vector " + vector);
    }
  }
  await settle(50);
  return seen;
};
`;

const VECTORS = [
  "fetch text/plain",
  "fetch form-urlencoded",
  "fetch application/json",
  "fetch no-cors",
  "fetch no-cors json blob",
  "sendBeacon",
  "form",
  "ping",
  "websocket",
  "huge",
  "loop",
] as const;

/** What a legitimate client (node:http, no Origin, application/json) holds before the attack. */
interface Victim {
  server: BridgeServer;
  bus: Bus;
  /** Messages the bus dispatched (followers ran for each). */
  delivered: Message[];
  /** A style-02 token (connect_oneway) the page is assumed to have learned. */
  oneway: string;
  /** A style-03 token (connect_via_queue "*:*") holding one message the page must not take. */
  queue: string;
  stop(): Promise<void>;
}

async function startVictim(busId: string, options: { allowOrigins?: string[] } = {}): Promise<Victim> {
  const bus = new Bus({ id: busId });
  const delivered: Message[] = [];
  const unfollow = bus.follow("*:*", (message) => void delivered.push(message));
  const server = await serve({ bus, ...options });
  const oneway = (await post(server.url, { id: null, method: "connect_oneway", params: [1000] })).body as Legacy;
  const queue = (await post(server.url, { id: null, method: "connect_via_queue", params: ["*:*", 1000] })).body as Legacy;
  bus.twitter("seed:note", "kept for the queue client");
  delivered.length = 0;
  return {
    server,
    bus,
    delivered,
    oneway: oneway.result as string,
    queue: queue.result as string,
    stop: async () => {
      unfollow();
      await server.close();
    },
  };
}

// Bodies for every style, each of which would reach the bus or the server's tables if it were taken:
// 01 interconnect (the link back goes to `sink`), 02 send_message with a learned token, 03 connect_via_queue
// and get_nowait on a queue token, and the JSON-RPC 2.0 methods (a batch).
function attackBodies(victim: Victim, sinkPort: number): string[] {
  return [
    JSON.stringify({ id: null, method: "send_message", params: [victim.oneway, "attack:oneway", ["from a page"], {}] }),
    JSON.stringify({ id: null, method: "connect_via_queue", params: ["*:*", 1000] }),
    JSON.stringify({ id: null, method: "get_nowait", params: [victim.queue] }),
    JSON.stringify({ id: null, method: "interconnect", params: [["127.0.0.1", sinkPort], "attacker", 1000] }),
    JSON.stringify([
      { jsonrpc: "2.0", id: 1, method: "berrymq.twitter", params: { token: victim.oneway, identifier: "attack:rpc", args: [] } },
      { jsonrpc: "2.0", id: 2, method: "berrymq.connect", params: { style: "oneway", ttl: 1000 } },
      {
        jsonrpc: "2.0",
        id: 3,
        method: "berrymq.interconnect",
        params: { url: `http://127.0.0.1:${sinkPort}/`, token: "t", busId: "evil", ttl: 60 },
      },
    ]),
  ];
}

/** A TCP listener standing where an `interconnect` would link back: it counts connections. */
async function startSink(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let count = 0;
  const server: Server = createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  return {
    port: typeof address === "object" && address !== null ? address.port : 0,
    connections: () => count,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Runs every vector from `page` at `target`; returns what the page saw, by vector. */
async function runVectors(page: WatchedPage, target: string, bodies: string[]): Promise<Map<string, string[]>> {
  await page.page.addScriptTag({ content: PAGE_SCRIPT });
  const seen = new Map<string, string[]>();
  for (const vector of VECTORS) {
    seen.set(
      vector,
      await page.page.evaluate(([v, t, b]) => (globalThis as unknown as PageApi).attack(v, t, b), [
        vector,
        target,
        bodies,
      ] as const),
    );
  }
  return seen;
}

interface PageApi {
  attack(vector: string, target: string, bodies: readonly string[]): Promise<string[]>;
}

/** The README's word on a web page's requests, checked on what went over the wire. */
function assertRefusedOnTheWire(exchanges: Exchange[], label: string, least: number): void {
  const posts = exchanges.filter((exchange) => exchange.method === "POST");
  // A POST Chromium never put on the wire (its preflight was refused) has no raw headers, and no answer.
  const unsent = posts.filter((exchange) => Object.keys(exchange.headers).length === 0);
  for (const exchange of unsent) assert.equal(exchange.status, undefined, `${label}: ${JSON.stringify(exchange)}`);
  const sent = posts.filter((exchange) => Object.keys(exchange.headers).length > 0);
  assert.ok(sent.length >= least, `${label}: ${sent.length} POSTs reached the server`);
  for (const exchange of sent) {
    assert.ok(exchange.headers.origin !== undefined, `${label}: a POST without Origin: ${JSON.stringify(exchange.headers)}`);
    if (exchange.status === undefined) continue; // beacons and pings Chromium did not wait for, a cut upload
    assert.ok(exchange.status === 403 || exchange.status === 415, `${label}: POST answered HTTP ${exchange.status}`);
    assert.equal(exchange.responseHeaders?.["access-control-allow-origin"], undefined, `${label}: CORS granted`);
  }
  assert.ok(sent.filter((exchange) => exchange.status !== undefined).length >= least * 0.75, `${label}: too few answers seen`);
  // Preflights (application/json, a JSON Blob beacon) are refused as any other verb, granting nothing.
  for (const exchange of exchanges.filter((e) => e.method === "OPTIONS")) {
    assert.equal(exchange.status, 405, `${label}: preflight answered HTTP ${exchange.status}`);
    assert.equal(exchange.responseHeaders?.["access-control-allow-origin"], undefined, `${label}: preflight granted`);
  }
}

/** What the page saw: nothing readable cross-origin; the rebinding page reads 403 / −32009 (README). */
function assertPageSaw(seen: Map<string, string[]>, sameOrigin: boolean, label: string): void {
  for (const vector of ["fetch text/plain", "fetch form-urlencoded", "fetch application/json"]) {
    for (const outcome of seen.get(vector) ?? []) {
      if (sameOrigin) {
        assert.match(outcome, /^HTTP 403 .*"code":-32009/, `${label} ${vector}`);
        assert.match(outcome, /Origin .* is not allowed/, `${label} ${vector}`);
      } else assert.equal(outcome, "error TypeError", `${label} ${vector}: the page read an answer`);
    }
  }
  for (const outcome of seen.get("websocket") ?? []) assert.equal(outcome, "ws refused, closed 1006", `${label} websocket`);
  for (const outcome of seen.get("huge") ?? [])
    assert.match(outcome, /^(HTTP 403 .*-32009|error TypeError|opaque opaque|opaque basic)/, `${label} huge`);
}

async function assertUntouched(victim: Victim, sink: { connections: () => number }, label: string): Promise<void> {
  await sleep(300); // beacons and pings leave after the page's script returned
  assert.deepEqual(
    victim.delivered.map((message) => message.id),
    [],
    `${label}: a page's message reached the bus`,
  );
  assert.equal(victim.server.connections, 2, `${label}: the page opened a connection (token)`);
  assert.equal(sink.connections(), 0, `${label}: interconnect linked back`);
  // The legitimate clients carry on: the queue client still holds its message, the send-only client sends.
  const held = (await post(victim.server.url, { id: null, method: "get_nowait", params: [victim.queue] })).body as Legacy;
  assert.deepEqual(held.result, ["seed:note", ["kept for the queue client"], {}], `${label}: the queue's message`);
  const sent = (
    await post(victim.server.url, { id: null, method: "send_message", params: [victim.oneway, "legit:after", [label], {}] })
  ).body as Legacy;
  assert.equal(sent.result, "ok");
  await waitFor(() => victim.delivered.length === 1, `${label}: the legitimate message`);
  const queued = (await post(victim.server.url, { id: null, method: "get_nowait", params: [victim.queue] })).body as Legacy;
  assert.deepEqual(queued.result, ["legit:after", [label], {}], `${label}: the queue client gets the legitimate message`);
  assert.equal(victim.delivered[0]?.id, "legit:after");
  victim.delivered.length = 0;
  // Put the message back for the next page.
  victim.bus.twitter("seed:note", "kept for the queue client");
  victim.delivered.length = 0;
}

// Without Chromium nothing below proves anything: this fails (never skips), saying how to install it.
it("finds Chromium to drive", () => requireChromium());

describe("a web page in Chromium attacks the bridge server", () => {
  let browser: TestBrowser;
  let site: AttackerSite;
  let sink: Awaited<ReturnType<typeof startSink>>;
  let victim: Victim;
  before(async () => {
    browser = await launchBrowser();
    site = await startAttackerSite();
    sink = await startSink();
    victim = await startVictim("browser-target");
  });
  after(async () => {
    await victim?.stop();
    await sink?.close();
    await site?.close();
    await browser?.close();
  });

  const pages = (): { label: string; page: string; target: string; sameOrigin: boolean }[] => [
    { label: "page at 127.0.0.1", page: `http://127.0.0.1:${site.port}/`, target: victim.server.url, sameOrigin: false },
    {
      label: "page at localhost",
      page: `http://localhost:${site.port}/`,
      target: `http://localhost:${victim.server.port}/JSON`,
      sameOrigin: false,
    },
    {
      label: "rebinding page at evil.test:<server port>",
      page: `http://${EVIL_HOST}:${victim.server.port}/`,
      target: `http://${EVIL_HOST}:${victim.server.port}/`,
      sameOrigin: true,
    },
  ];

  for (const index of [0, 1, 2]) {
    it(`refuses everything page ${index + 1} of 3 sends (fetch, no-cors, forms, beacons, pings, WebSocket, 8 MiB, 300 in a loop)`, async () => {
      const { label, page: url, target, sameOrigin } = pages()[index] as ReturnType<typeof pages>[number];
      const page = await browser.open(url, victim.server.port);
      try {
        const seen = await runVectors(page, target, attackBodies(victim, sink.port));
        await assertUntouched(victim, sink, label);
        assertRefusedOnTheWire(page.exchanges, label, 100);
        assertPageSaw(seen, sameOrigin, label);
        assert.ok(
          page.console.some((line) => /WebSocket.*Unexpected response code: 400/.test(line)),
          `${label}: the WebSocket handshake was not refused with 400: ${page.console.join(" | ")}`,
        );
        if (sameOrigin) {
          // Host: evil.test alone (no Origin) is refused too: the rebinding guard behind the Origin check.
          const hello = await post(
            victim.server.url,
            { jsonrpc: "2.0", id: 1, method: "berrymq.hello" },
            { host: `${EVIL_HOST}:${victim.server.port}` },
          );
          assert.equal(hello.status, 403);
          assert.match((hello.body as Rpc).error?.message ?? "", /Host "evil\.test:\d+"/);
        }
      } finally {
        await page.close();
      }
    });
  }

  it("refuses a rebinding page loaded from the attacker's server, whose port a berrymq server then takes", async () => {
    // The attack as it happens: evil.test first names the attacker's server, which serves the page; then
    // the attacker's server goes and a berrymq server listens behind the same name and port, so the page's
    // requests to its own origin reach berrymq (same origin: JSON without a preflight, answers readable).
    const attacker = await startAttackerSite();
    const page = await browser.open(`http://${EVIL_HOST}:${attacker.port}/`, attacker.port);
    const bus = new Bus({ id: "rebound" });
    const got: Message[] = [];
    const stop = bus.follow("*:*", (m) => void got.push(m));
    await attacker.close();
    const server = await serve({ bus, port: attacker.port });
    try {
      const oneway = ((await post(server.url, { id: null, method: "connect_oneway", params: [1000] })).body as Legacy)
        .result as string;
      const bodies = [JSON.stringify({ id: null, method: "send_message", params: [oneway, "attack:rebound", [], {}] })];
      await page.page.addScriptTag({ content: PAGE_SCRIPT });
      for (const vector of ["fetch application/json", "fetch text/plain", "fetch no-cors", "sendBeacon", "websocket"]) {
        const seen = await page.page.evaluate(([v, b]) => (globalThis as unknown as PageApi).attack(v, "/", b), [
          vector,
          bodies,
        ] as const);
        if (vector.startsWith("fetch application/json"))
          assert.match(seen[0] ?? "", /^HTTP 403 .*"code":-32009.*Origin \\"http:\/\/evil\.test:\d+\\" is not allowed/);
        if (vector === "websocket") assert.deepEqual(seen, ["ws refused, closed 1006", "ws refused, closed 1006"]);
      }
      await sleep(200);
      assertRefusedOnTheWire(page.exchanges, "rebound page", 4);
      assert.ok(page.exchanges.every((e) => e.headers.host === undefined || e.headers.host === `${EVIL_HOST}:${attacker.port}`));
      assert.deepEqual(got, []);
      assert.equal(server.connections, 1);
      const sent = (await post(server.url, { id: null, method: "send_message", params: [oneway, "legit:rebound", [], {}] }))
        .body as Legacy;
      assert.equal(sent.result, "ok");
      await waitFor(() => got.length === 1, "the legitimate message");
    } finally {
      stop();
      await page.close();
      await server.close();
    }
  });
});

describe("a web page in Chromium attacks a link stream (PeerLink) while it streams", () => {
  let browser: TestBrowser;
  let site: AttackerSite;
  let a: Bus;
  let b: Bus;
  let serverA: BridgeServer;
  let serverB: BridgeServer;
  let link: PeerLink;
  before(async () => {
    browser = await launchBrowser();
    site = await startAttackerSite();
    a = new Bus({ id: "stream-a" });
    b = new Bus({ id: "stream-b" });
    [serverA, serverB] = await Promise.all([serve({ bus: a }), serve({ bus: b })]);
    link = await PeerLink.connect(serverB.url, { bus: a, server: serverA });
    await waitFor(() => link.streaming, "the link's stream", 10_000);
  });
  after(async () => {
    await link?.close();
    await Promise.all([serverA?.close(), serverB?.close()]);
    await site?.close();
    await browser?.close();
  });

  it("refuses the page's WebSockets and interconnects on both ends; the stream carries on", async () => {
    const gotA: Message[] = [];
    const gotB: Message[] = [];
    const stopA = a.follow("*:*", (m) => void gotA.push(m));
    const stopB = b.follow("*:*", (m) => void gotB.push(m));
    const sessions = [serverA.connections, serverB.connections];
    try {
      for (const server of [serverA, serverB]) {
        for (const url of [`http://127.0.0.1:${site.port}/`, `http://${EVIL_HOST}:${server.port}/`]) {
          const page = await browser.open(url, server.port);
          try {
            await page.page.addScriptTag({ content: PAGE_SCRIPT });
            const target = url.startsWith(`http://${EVIL_HOST}`) ? url : server.url;
            const interconnect = JSON.stringify({
              jsonrpc: "2.0",
              id: 1,
              method: "berrymq.interconnect",
              params: { url: `http://127.0.0.1:${site.port}/`, token: "page", busId: "evil", ttl: 60 },
            });
            for (const vector of ["websocket", "fetch text/plain", "fetch no-cors", "sendBeacon"]) {
              const seen = await page.page.evaluate(([v, t, body]) => (globalThis as unknown as PageApi).attack(v, t, [body]), [
                vector,
                target,
                interconnect,
              ] as const);
              if (vector === "websocket") assert.deepEqual(seen, ["ws refused, closed 1006", "ws refused, closed 1006"]);
            }
            await sleep(200);
            assertRefusedOnTheWire(page.exchanges, url, 3);
          } finally {
            await page.close();
          }
        }
      }
      assert.deepEqual([serverA.connections, serverB.connections], sessions, "a page opened a connection");
      assert.equal(link.streaming, true, "the link lost its stream");
      a.twitter("legit:a-to-b", 1);
      b.twitter("legit:b-to-a", 2);
      await waitFor(
        () => gotB.some((m) => m.id === "legit:a-to-b") && gotA.some((m) => m.id === "legit:b-to-a"),
        "both directions",
      );
      assert.deepEqual(
        [...gotA, ...gotB].map((m) => m.id).filter((id) => !id.startsWith("legit:")),
        [],
        "a page's message reached a bus",
      );
    } finally {
      stopA();
      stopB();
    }
  });
});

describe("a web page in Chromium attacks `berrymq serve` (the CLI, its own process)", () => {
  let browser: TestBrowser;
  let site: AttackerSite;
  let child: ChildProcess;
  let url: string;
  const printed: string[] = [];
  before(async () => {
    browser = await launchBrowser();
    site = await startAttackerSite();
    // --verbose prints every message the bus dispatches: one line each.
    child = spawn(process.execPath, ["--import", "tsx", CLI, "serve", "--port", "0", "--verbose", "--queue", "*:*"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => printed.push(...chunk.split("\n").filter(Boolean)));
    await waitFor(() => printed.some((line) => line.includes("listening on")), "berrymq serve listening", 20_000);
    url = /listening on (\S+)/.exec(printed.find((line) => line.includes("listening on")) ?? "")?.[1] ?? "";
  });
  after(async () => {
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    await site?.close();
    await browser?.close();
  });

  it("refuses what pages send; nothing is printed as a message; it still answers a client", async () => {
    const port = Number(new URL(url).port);
    const body = JSON.stringify({ id: null, method: "connect_oneway", params: [1000] });
    const token = ((await post(url, body)).body as Legacy).result as string;
    const send = JSON.stringify({ id: null, method: "send_message", params: [token, "attack:cli", ["from a page"], {}] });
    for (const pageUrl of [`http://localhost:${site.port}/`, `http://${EVIL_HOST}:${port}/`]) {
      const page = await browser.open(pageUrl, port);
      try {
        const target = pageUrl.startsWith(`http://${EVIL_HOST}`) ? pageUrl : url;
        await page.page.addScriptTag({ content: PAGE_SCRIPT });
        for (const vector of [
          "fetch text/plain",
          "fetch application/json",
          "fetch no-cors",
          "sendBeacon",
          "form",
          "websocket",
          "loop",
        ]) {
          await page.page.evaluate(([v, t, b]) => (globalThis as unknown as PageApi).attack(v, t, [b]), [
            vector,
            target,
            send,
          ] as const);
        }
        await sleep(200);
        assertRefusedOnTheWire(page.exchanges, pageUrl, 50);
      } finally {
        await page.close();
      }
    }
    assert.deepEqual(
      printed.filter((line) => line.includes("attack:")),
      [],
    );
    const legit = JSON.stringify({ id: null, method: "send_message", params: [token, "legit:cli", [], {}] });
    assert.equal(((await post(url, legit)).body as Legacy).result, "ok");
    await waitFor(() => printed.some((line) => line.includes("legit:cli")), "the legitimate message printed");
    // The owned queue holds the legitimate message only.
    const queue = ((await post(url, { id: null, method: "connect_via_queue", params: ["*:*", 1000] })).body as Legacy)
      .result as string;
    const got = ((await post(url, { id: null, method: "get_nowait", params: [queue] })).body as Legacy).result;
    assert.deepEqual(got, ["legit:cli", [], {}]);
  });
});

describe("a page at an allowed origin (allowOrigins) calls the server from Chromium", () => {
  let browser: TestBrowser;
  let site: AttackerSite;
  let victim: Victim;
  before(async () => {
    browser = await launchBrowser();
    site = await startAttackerSite();
    victim = await startVictim("browser-allowed", { allowOrigins: [`http://127.0.0.1:${site.port}`] });
  });
  after(async () => {
    await victim?.stop();
    await site?.close();
    await browser?.close();
  });

  it("gets its preflight granted and its JSON answered; another origin is still refused", async () => {
    const allowed = await browser.open(`http://127.0.0.1:${site.port}/`, victim.server.port);
    const other = await browser.open(`http://localhost:${site.port}/`, victim.server.port);
    try {
      const call = ([target, twitterToken]: readonly [string, string]) =>
        fetch(target, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            jsonrpc: "2.0",
            id: 7,
            method: "berrymq.twitter",
            params: { token: twitterToken, identifier: "web:click", args: [1] },
          }),
        }).then(
          async (answer) => `HTTP ${answer.status} ${await answer.text()}`,
          (error: Error) => `error ${error.name}`,
        );
      const answer = await allowed.page.evaluate(call, [victim.server.url, victim.oneway] as const);
      assert.match(answer, /^HTTP 200 .*"result"/, answer);
      await waitFor(() => victim.delivered.some((m) => m.id === "web:click"), "the allowed page's message");
      // Chromium reports a preflight's answer over CDP after the page's fetch settles: waited for.
      await waitFor(() => allowed.exchanges.some((e) => e.method === "OPTIONS" && e.status !== undefined), "the preflight's answer");
      const preflight = allowed.exchanges.find((e) => e.method === "OPTIONS");
      assert.equal(preflight?.status, 204);
      assert.equal(preflight?.responseHeaders?.["access-control-allow-origin"], `http://127.0.0.1:${site.port}`);
      // A refusal is readable by the allowed page (it says why), e.g. text/plain answers 415 / −32009.
      const plain = await allowed.page.evaluate(
        (target) =>
          fetch(target, { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" }).then(
            async (a) => `HTTP ${a.status} ${await a.text()}`,
          ),
        victim.server.url,
      );
      assert.match(plain, new RegExp(`^HTTP 415 .*"code":${BridgeErrorCode.Forbidden}`));
      victim.delivered.length = 0;
      const refused = await other.page.evaluate(call, [victim.server.url, victim.oneway] as const);
      assert.equal(refused, "error TypeError");
      await waitFor(() => other.exchanges.some((e) => e.method === "OPTIONS" && e.status !== undefined), "the refused preflight's answer");
      const otherPreflight = other.exchanges.find((e) => e.method === "OPTIONS");
      assert.equal(otherPreflight?.status, 405);
      assert.equal(otherPreflight?.responseHeaders?.["access-control-allow-origin"], undefined);
      // The allowed page through a rebinding name: its preflight names a Host that is not this server.
      const rebound = await allowed.page.evaluate(call, [`http://${EVIL_HOST}:${victim.server.port}/`, victim.oneway] as const);
      assert.equal(rebound, "error TypeError");
      await sleep(100);
      assert.deepEqual(victim.delivered, []);
    } finally {
      await allowed.close();
      await other.close();
    }
  });

  it("sends the server's secret (Authorization) after a granted preflight; without it reads HTTP 401", async () => {
    const bus = new Bus({ id: "browser-secret" });
    const got: Message[] = [];
    const stop = bus.follow("*:*", (m) => void got.push(m));
    const origin = `http://127.0.0.1:${site.port}`;
    const server = await serve({ bus, secret: "s3cret", allowOrigins: [origin] });
    const page = await browser.open(`${origin}/`, server.port);
    try {
      const connect = ([target, authorization]: readonly [string, string]) =>
        fetch(target, {
          method: "POST",
          headers:
            authorization === "" ? { "content-type": "application/json" } : { "content-type": "application/json", authorization },
          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "berrymq.connect", params: { style: "oneway", ttl: 60 } }),
        }).then(
          async (answer) => `HTTP ${answer.status} ${await answer.text()}`,
          (error: Error) => `error ${error.name}`,
        );
      assert.match(await page.page.evaluate(connect, [server.url, "Bearer s3cret"] as const), /^HTTP 200 .*"token"/);
      assert.match(
        await page.page.evaluate(connect, [server.url, ""] as const),
        new RegExp(`^HTTP 401 .*"code":${BridgeErrorCode.Unauthorized}`),
      );
      assert.equal(server.connections, 1);
      assert.deepEqual(got, []);
    } finally {
      stop();
      await page.close();
      await server.close();
    }
  });
});
