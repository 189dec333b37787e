// r32 (web-page red team), NEEDS bridge-server.ts (copy to spec/bridges/jsonrpc/ once the patch beside it,
// bridge-server-fromPage.patch, is applied): a page at an allowed origin (allowOrigins) calls every
// `interconnect` form from real Chromium. Without the patch each is answered with a token and the server
// links out to the loopback port the page named (and keeps retrying after the page is gone); with it each
// answers −32009 and nothing links out, while the page's client calls (connect, twitter) still work.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { describe, it } from "node:test";
import { BridgeErrorCode, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { launchBrowser, requireChromium, startAttackerSite } from "../../helpers/browser.js";
import { sleep } from "../../helpers/wait-for.js";

it("finds Chromium to drive", () => requireChromium());

describe("red team r32: an allowed page calls interconnect from Chromium", () => {
  it("is refused in every form; nothing links out; its client calls still run", async (t) => {
    let linked = 0;
    const sink: Server = createServer((socket) => {
      linked++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => sink.listen(0, "127.0.0.1", resolve));
    t.after(() => new Promise<void>((resolve) => sink.close(() => resolve())));
    const sinkPort = (sink.address() as { port: number }).port;
    const browser = await launchBrowser();
    t.after(() => browser.close());
    const site = await startAttackerSite();
    t.after(() => site.close());
    const bus = new Bus({ id: "allowed-page-target" });
    bus.on("error", () => {});
    const server = await serve({ bus, allowOrigins: [`http://localhost:${site.port}`] });
    t.after(() => server.close());
    const page = await browser.open(`http://localhost:${site.port}/`, server.port);
    t.after(() => page.close());
    const call = (body: unknown): Promise<string> =>
      page.page.evaluate(
        `fetch(${JSON.stringify(server.url)}, { method: "POST", headers: { "content-type": "application/json" }, body: ${JSON.stringify(JSON.stringify(body))} }).then(async (a) => a.status + " " + (await a.text()), (e) => "error " + e)`,
      ) as Promise<string>;
    const url = `http://127.0.0.1:${sinkPort}/`;
    for (const body of [
      { jsonrpc: "2.0", id: 1, method: "berrymq.interconnect", params: { url, token: "page", busId: "evil", ttl: 60 } },
      { id: 1, method: "interconnect", params: [["127.0.0.1", sinkPort], "page-token", 60] },
      { id: 1, method: "connect_interactively", params: [["127.0.0.1", sinkPort], 60] },
    ]) {
      const answer = await call(body);
      assert.match(answer, new RegExp(`^200 .*"code":${BridgeErrorCode.Forbidden}.*may not call it`), answer);
    }
    await sleep(500);
    assert.equal(linked, 0, "the server linked out for a page");
    assert.equal(server.connections, 0, "a peer token was opened for a page");
    const opened = await call({ jsonrpc: "2.0", id: 2, method: "berrymq.connect", params: { style: "oneway", ttl: 60 } });
    assert.match(opened, /^200 .*"token"/, opened);
  });
});
