// r32 (web-page red team): `berrymq serve --secret-file F --allow-origin O` (its own process) attacked by real
// headless Chromium: a page at another origin and a DNS-rebinding page are refused before the secret is
// looked at (403/415, nothing printed, nothing queued); the allowed page without the secret, or with a
// wrong one, reads HTTP 401 (−32006); with it, it calls. Held when tried (r32): this keeps it so.
// (browser.spec.ts attacks `serve` without a secret.)
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { BridgeErrorCode } from "../../../bridges/jsonrpc/index.js";
import { EVIL_HOST, launchBrowser, requireChromium, startAttackerSite } from "../../helpers/browser.js";
import { cli } from "../../helpers/cli-process.js";
import { sleep, waitFor } from "../../helpers/wait-for.js";
import { post } from "../jsonrpc/raw-http.js";

type Legacy = { result: unknown };

it("finds Chromium to drive", () => requireChromium());

it("serve with a secret and an allowed origin: other pages refused, the allowed page needs the secret", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "berrymq-r32-serve-web-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const secretFile = join(dir, "secret");
  writeFileSync(secretFile, "r32-page-secret\n", { mode: 0o600 });
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const site = await startAttackerSite();
  t.after(() => site.close());
  const allowed = `http://localhost:${site.port}`;
  const args = ["serve", "--port", "0", "--verbose", "--queue", "*:*", "--secret-file", secretFile, "--allow-origin", allowed];
  const run = cli(args);
  t.after(async () => {
    run.signal("SIGTERM");
    await run.exited;
  });
  await waitFor(() => run.stdout().includes("listening on"), "berrymq serve listening", 30_000);
  const url = /listening on (\S+)/.exec(run.stdout())?.[1] ?? "";
  const port = Number(new URL(url).port);
  const auth = { authorization: "Bearer r32-page-secret" };
  const token = ((await post(url, { id: null, method: "connect_oneway", params: [600] }, auth)).body as Legacy).result as string;
  assert.equal(typeof token, "string");
  const send = JSON.stringify({ id: null, method: "send_message", params: [token, "attack:serve", [], {}] });
  const call = (target: string, body: string, headers: Record<string, string>): string =>
    `fetch(${JSON.stringify(target)}, { method: "POST", headers: ${JSON.stringify(headers)}, body: ${JSON.stringify(body)} })` +
    `.then(async (a) => "HTTP " + a.status + " " + (await a.text()), (e) => "error " + e.name)`;
  const noCors = (target: string, body: string): string =>
    `fetch(${JSON.stringify(target)}, { method: "POST", mode: "no-cors", body: ${JSON.stringify(body)} }).then((a) => a.type, (e) => "error " + e.name)`;

  for (const [pageUrl, target] of [
    [`http://127.0.0.1:${site.port}/`, url],
    [`http://${EVIL_HOST}:${port}/`, `http://${EVIL_HOST}:${port}/`],
  ] as const) {
    const page = await browser.open(pageUrl, port);
    try {
      const json = await page.page.evaluate(call(target, send, { "content-type": "application/json", ...auth }));
      if (pageUrl.includes(EVIL_HOST)) assert.match(json as string, new RegExp(`^HTTP 403 .*"code":${BridgeErrorCode.Forbidden}`));
      else assert.equal(json, "error TypeError");
      assert.equal(await page.page.evaluate(noCors(target, send)), pageUrl.includes(EVIL_HOST) ? "basic" : "opaque");
      await sleep(200);
      for (const e of page.exchanges.filter((x) => x.status !== undefined && x.method !== "GET")) {
        assert.ok([403, 405, 415].includes(e.status as number), `${pageUrl}: ${e.method} answered ${e.status}`);
        assert.equal(e.responseHeaders?.["access-control-allow-origin"], undefined);
      }
    } finally {
      await page.close();
    }
  }

  const page = await browser.open(`${allowed}/`, port);
  try {
    const json = { "content-type": "application/json" };
    const none = (await page.page.evaluate(call(url, send, json))) as string;
    assert.match(none, new RegExp(`^HTTP 401 .*"code":${BridgeErrorCode.Unauthorized}`), none);
    const wrong = (await page.page.evaluate(call(url, send, { ...json, authorization: "Bearer guessed" }))) as string;
    assert.match(wrong, /^HTTP 401 /, wrong);
    const legit = JSON.stringify({ id: null, method: "send_message", params: [token, "web:allowed", [], {}] });
    const right = (await page.page.evaluate(call(url, legit, { ...json, ...auth }))) as string;
    assert.match(right, /^HTTP 200 .*"result":"ok"/, right);
  } finally {
    await page.close();
  }
  await waitFor(() => run.stdout().includes("web:allowed"), "the allowed page's message printed");
  assert.doesNotMatch(run.stdout(), /attack:/);
  const queue = ((await post(url, { id: null, method: "connect_via_queue", params: ["*:*", 60] }, auth)).body as Legacy)
    .result as string;
  const got = ((await post(url, { id: null, method: "get_nowait", params: [queue] }, auth)).body as Legacy).result;
  assert.deepEqual(got, ["web:allowed", [], {}]);
});
