// r32 (web-page red team), raw headers (node:http) for what Chromium 156 no longer sends from a page but
// older browsers do, and for options no spec covered: Private Network Access preflights (granted to an
// allowed origin only, at this server's Host only) and `allowHosts` (an allowed name, in any case, is
// accepted; any other name, a name ending with it, or a trailing-dot form is not). Held when tried (r32).
import assert from "node:assert/strict";
import { request } from "node:http";
import { describe, it } from "node:test";
import { BridgeErrorCode, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { post } from "./raw-http.js";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

function preflight(url: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "OPTIONS", headers }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("red team r32: PNA preflights and allowHosts, raw", () => {
  it("grants a PNA preflight to an allowed origin at this server's Host only", async (t) => {
    const allowed = "http://localhost:3000";
    const server = await serve({ bus: new Bus(), allowOrigins: [allowed] });
    t.after(() => server.close());
    const ask = (origin: string, host: string): Promise<Answer> =>
      preflight(server.url, {
        origin,
        host,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
        "access-control-request-private-network": "true",
      });
    const here = `127.0.0.1:${server.port}`;
    const granted = await ask(allowed, here);
    assert.equal(granted.status, 204);
    assert.equal(granted.headers["access-control-allow-origin"], allowed);
    assert.equal(granted.headers["access-control-allow-private-network"], "true");
    for (const [origin, host] of [
      ["https://evil.example", here],
      ["null", here],
      ["http://localhost:3000.evil.example", here],
      ["http://LOCALHOST:3000", here],
      [allowed, `evil.test:${server.port}`],
    ] as const) {
      const refused = await ask(origin, host);
      assert.equal(refused.status, 405, `${origin} at ${host}`);
      assert.equal(refused.headers["access-control-allow-private-network"], undefined, `${origin} at ${host}`);
      if (origin !== allowed) assert.equal(refused.headers["access-control-allow-origin"], undefined, origin);
    }
  });

  it("accepts a Host named in allowHosts (any case, any port) and no other name", async (t) => {
    const server = await serve({ bus: new Bus(), allowHosts: ["Berry.Internal"] });
    t.after(() => server.close());
    const hello = { jsonrpc: "2.0", id: 1, method: "berrymq.hello" };
    for (const host of ["berry.internal", `BERRY.internal:${server.port}`, "localhost", `[::1]:${server.port}`]) {
      const answer = await post(server.url, hello, { host });
      assert.equal(answer.status, 200, `${host}: ${answer.text}`);
    }
    for (const host of [
      `evil.berry.internal:${server.port}`,
      `berry.internal.evil.test:${server.port}`,
      `berry.internal.:${server.port}`,
      `localhost.:${server.port}`,
      `sub.localhost:${server.port}`,
      `berry.internal@evil.test:${server.port}`,
    ]) {
      const answer = await post(server.url, hello, { host });
      assert.equal(answer.status, 403, `${host}: ${answer.text}`);
      assert.match(answer.text, new RegExp(`"code":${BridgeErrorCode.Forbidden}.*is not this server`), host);
    }
  });
});
