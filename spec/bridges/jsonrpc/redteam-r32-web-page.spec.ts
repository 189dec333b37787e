// r32 (web-page red team): what browser.spec.ts does not send, sent by real headless Chromium at a bridge
// server on 127.0.0.1: Content-Type values built to read as JSON to one parser and as a "simple" type to
// another (commas, semicolons, parameters, case, tabs: fetch cors and no-cors, XHR, beacon Blobs), each a
// 0.3 send_message with a learned token or a long-poll get on a learned queue token; pages whose Origin is
// `null` (a sandboxed iframe, a data: iframe, a file:// page); GETs (img, script, iframe, EventSource);
// a page Chromium takes for a public site (Local Network Access). All of it held when tried (r32): this
// keeps it so. Nothing reaches the bus or the queue, no long-poll waits, no answer carries CORS.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type BridgeServer, serve } from "../../../bridges/jsonrpc/index.js";
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
} from "../../helpers/browser.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { post } from "./raw-http.js";

type Legacy = { id: unknown; result: unknown; error: { code: number; message: string } | null };

// Chromium takes the part before ";" as the type (as the server does): each of these is either a simple
// type (sent without a preflight, refused 415) or not (preflighted, refused 405, never sent).
const CONTENT_TYPES = [
  "application/json",
  "application/json;",
  "text/plain;application/json",
  "application/json, text/plain",
  "text/plain, application/json",
  "application/json;, text/plain",
  "text/plain; charset=application/json",
  "APPLICATION/JSON",
  "application/json\t",
  "text/xml",
  "application/json-rpc",
  "application/jsonrequest",
  'text/plain;a="x,application/json"',
];

// Runs in the page: every content type through every API that takes one, then the long-polls (each must be
// answered at once: a refused request never waits).
const PAGE_SCRIPT = `
window.typed = async function (target, bodies, types) {
  var seen = [];
  for (var b = 0; b < bodies.length; b++) {
    for (var t = 0; t < types.length; t++) {
      var type = types[t];
      for (var mode of ["cors", "no-cors"]) {
        seen.push(await fetch(target, { method: "POST", mode: mode, headers: { "content-type": type }, body: bodies[b] })
          .then(function (a) { return a.type === "opaque" ? "opaque" : "HTTP " + a.status; }, function (e) { return "error " + e.name; }));
      }
      seen.push(await new Promise(function (resolve) {
        var x = new XMLHttpRequest();
        x.open("POST", target);
        x.setRequestHeader("content-type", type);
        x.onloadend = function () { resolve("xhr " + x.status); };
        x.send(bodies[b]);
      }));
      try { seen.push("beacon " + navigator.sendBeacon(target, new Blob([bodies[b]], { type: type }))); } catch (e) { seen.push("beacon " + e.name); }
    }
  }
  return seen;
};
window.longPolls = async function (target, bodies) {
  var took = [];
  for (var b = 0; b < bodies.length; b++) {
    for (var type of ["text/plain", "application/json"]) {
      var start = performance.now();
      await fetch(target, { method: "POST", mode: "no-cors", headers: { "content-type": type }, body: bodies[b] }).catch(function () {});
      await fetch(target, { method: "POST", headers: { "content-type": type }, body: bodies[b] }).catch(function () {});
      took.push(performance.now() - start);
    }
  }
  return took;
};
window.nullOrigins = async function (target, body) {
  var send = "fetch(" + JSON.stringify(target) + ", { method: 'POST', mode: 'no-cors', body: " + JSON.stringify(body) + " });"
    + "fetch(" + JSON.stringify(target) + ", { method: 'POST', headers: { 'content-type': 'application/json' }, body: " + JSON.stringify(body) + " }).catch(function () {});"
    + "var f = document.createElement('form'); f.method = 'POST'; f.action = " + JSON.stringify(target) + "; f.enctype = 'text/plain';"
    + "var i = document.createElement('input'); i.name = " + JSON.stringify(body.slice(0, -1) + ',"pad":"') + "; i.value = '\\"}'; f.appendChild(i);"
    + "document.body.appendChild(f); f.submit();";
  var sandboxed = document.createElement("iframe");
  sandboxed.sandbox.add("allow-scripts", "allow-forms");
  sandboxed.srcdoc = "<body><script>" + send + "<\\/script></body>";
  document.body.appendChild(sandboxed);
  var data = document.createElement("iframe");
  data.src = "data:text/html," + encodeURIComponent("<body><script>" + send + "<\\/script></body>");
  document.body.appendChild(data);
  await new Promise(function (r) { setTimeout(r, 1500); });
  return "sent";
};
window.gets = async function (target) {
  var wait = function (el) { return new Promise(function (r) { el.onload = el.onerror = r; setTimeout(r, 2000); }); };
  var img = new Image(); var a = wait(img); img.src = target + "?img"; await a;
  var script = document.createElement("script"); var b = wait(script); script.src = target + "?script"; document.body.appendChild(script); await b;
  var frame = document.createElement("iframe"); var c = wait(frame); frame.src = target + "?frame"; document.body.appendChild(frame); await c;
  await new Promise(function (r) { var es = new EventSource(target + "?sse"); es.onerror = function () { es.close(); r(); }; setTimeout(function () { es.close(); r(); }, 2000); });
  return "done";
};
`;

interface PageApi {
  typed(target: string, bodies: readonly string[], types: readonly string[]): Promise<string[]>;
  longPolls(target: string, bodies: readonly string[]): Promise<number[]>;
  nullOrigins(target: string, body: string): Promise<string>;
  gets(target: string): Promise<string>;
}

/** Every request that went over the wire was refused, and none was granted CORS. */
function assertRefused(exchanges: Exchange[], label: string): void {
  const sent = exchanges.filter((e) => Object.keys(e.headers).length > 0);
  assert.ok(sent.length > 0, `${label}: nothing reached the server`);
  for (const exchange of sent) {
    const what = `${label}: ${exchange.method} ${exchange.url} ${JSON.stringify(exchange.headers)} → ${exchange.status}`;
    assert.equal(exchange.responseHeaders?.["access-control-allow-origin"], undefined, `${what}: CORS granted`);
    if (exchange.method === "POST") {
      assert.ok(exchange.headers.origin !== undefined, `${what}: a POST without Origin`);
      if (exchange.status !== undefined) assert.ok(exchange.status === 403 || exchange.status === 415, what);
    } else if (exchange.status !== undefined) assert.ok(exchange.status === 405 || exchange.status === 404, what);
  }
}

it("finds Chromium to drive", () => requireChromium());

describe("red team r32: a web page in Chromium, beyond browser.spec.ts", () => {
  let browser: TestBrowser;
  let site: AttackerSite;
  let server: BridgeServer;
  let bus: Bus;
  const delivered: Message[] = [];
  let oneway: string;
  let queue: string;
  let bodies: string[];
  let polls: string[];
  before(async () => {
    browser = await launchBrowser();
    site = await startAttackerSite();
    bus = new Bus({ id: "r32-web-target" });
    bus.follow("*:*", (message) => void delivered.push(message));
    server = await serve({ bus });
    oneway = ((await post(server.url, { id: null, method: "connect_oneway", params: [600] })).body as Legacy).result as string;
    queue = ((await post(server.url, { id: null, method: "connect_via_queue", params: ["*:*", 600] })).body as Legacy)
      .result as string;
    bodies = [
      JSON.stringify({ id: null, method: "send_message", params: [oneway, "attack:typed", ["from a page"], {}] }),
      JSON.stringify({ jsonrpc: "2.0", id: 1, method: "berrymq.twitter", params: { token: oneway, identifier: "attack:rpc" } }),
    ];
    polls = [
      JSON.stringify({ id: null, method: "get", params: [queue, true, 5] }),
      JSON.stringify({ jsonrpc: "2.0", id: 1, method: "berrymq.get", params: { token: queue, timeout: 5000 } }),
    ];
  });
  after(async () => {
    await server?.close();
    bus?.close();
    await site?.close();
    await browser?.close();
  });

  /** Nothing reached the bus; both tokens still work; the queue kept what was queued for it. */
  async function assertUntouched(label: string): Promise<void> {
    await sleep(300); // beacons leave after the page's script returned
    assert.deepEqual(
      delivered.map((m) => m.id),
      [],
      `${label}: a page's message reached the bus`,
    );
    assert.equal(server.connections, 2, `${label}: a page opened or closed a token`);
    const sent = (await post(server.url, { id: null, method: "send_message", params: [oneway, "legit:after", [label], {}] }))
      .body as Legacy;
    assert.equal(sent.result, "ok");
    const got = (await post(server.url, { id: null, method: "get_nowait", params: [queue] })).body as Legacy;
    assert.deepEqual(got.result, ["legit:after", [label], {}], `${label}: the queue lost its message to a page`);
    delivered.length = 0;
  }

  for (const where of ["127.0.0.1", EVIL_HOST] as const) {
    it(`refuses crafted content types, long-polls and GETs from a page at ${where}`, async () => {
      const rebinding = where === EVIL_HOST;
      const origin = rebinding ? `http://${EVIL_HOST}:${server.port}` : `http://127.0.0.1:${site.port}`;
      const target = rebinding ? `${origin}/` : server.url;
      const page = await browser.open(`${origin}/`, server.port);
      try {
        await page.page.addScriptTag({ content: PAGE_SCRIPT });
        const seen = await page.page.evaluate(([t, b, c]) => (globalThis as unknown as PageApi).typed(t, b, c), [target, bodies, CONTENT_TYPES] as const);
        for (const outcome of seen) {
          // Cross-origin: nothing readable. Rebinding (same origin): the refusal only.
          assert.ok(/^(error TypeError|opaque|HTTP 40[35]|xhr (0|403|415)|beacon (true|false))$/.test(outcome), outcome);
        }
        const took = await page.page.evaluate(([t, b]) => (globalThis as unknown as PageApi).longPolls(t, b), [target, polls] as const);
        // A refused get is answered at once (a long-poll taken would wait its 5 s).
        for (const ms of took) assert.ok(ms < 4_000, `a page's get waited ${ms} ms`);
        await page.page.evaluate((t) => (globalThis as unknown as PageApi).gets(t), target);
        await sleep(200);
        assertRefused(page.exchanges, origin);
        assert.ok(page.exchanges.some((e) => e.method === "GET" && e.url.includes("?img") && e.status === 405));
        await assertUntouched(origin);
      } finally {
        await page.close();
      }
    });
  }

  it("refuses pages whose Origin is null: a sandboxed iframe, a data: iframe, a file:// page", async () => {
    const page = await browser.open(`http://127.0.0.1:${site.port}/`, server.port);
    const dir = mkdtempSync(join(tmpdir(), "berrymq-r32-file-"));
    try {
      await page.page.addScriptTag({ content: PAGE_SCRIPT });
      await page.page.evaluate(([t, b]) => (globalThis as unknown as PageApi).nullOrigins(t, b), [server.url, bodies[0] as string] as const);
      await assertUntouched("null-origin frames");
      writeFileSync(join(dir, "attack.html"), "<!doctype html><title>file</title><body></body>");
      await page.page.goto(`file://${join(dir, "attack.html")}`);
      await page.page.addScriptTag({ content: PAGE_SCRIPT });
      const seen = await page.page.evaluate(([t, b, c]) => (globalThis as unknown as PageApi).typed(t, b, c), [server.url, bodies, CONTENT_TYPES] as const);
      assert.ok(seen.length > 0);
      await waitFor(() => page.exchanges.some((e) => e.headers.origin === "null" && e.status !== undefined), "a file:// request");
      assertRefused(page.exchanges, "file:// page");
      for (const e of page.exchanges.filter((x) => x.method === "POST" && x.status !== undefined))
        assert.equal(e.headers.origin, "null", JSON.stringify(e.headers));
      await assertUntouched("file:// page");
    } finally {
      await page.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
