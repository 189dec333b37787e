// A non-zero number literal that underflows to 0 (1e-400) is refused like one that overflows (−32011),
// not carried as 0; denormals (5e-324) and zeros however written (0e-400, -0) pass unchanged.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { parseExactJson } from "../../../bridges/jsonrpc/exact-json.js";
import { type BridgeServer, BridgeErrorCode, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { post } from "./raw-http.js";

const UNDERFLOW = /^invalid number .*: too small for a double \(it would become 0\); send it as a string$/;
const tinyFraction = `0.${"0".repeat(330)}1`;

describe("parseExactJson: literals that underflow", () => {
  it("refuses a non-zero literal that parses to 0, in any spelling, shallow or past the walk's depth", () => {
    // A fraction of 230 zeros and a 2-digit exponent (review r26: missed while only 300 zeros were looked for).
    const twoDigitExponent = `0.${"0".repeat(230)}1e-99`;
    for (const literal of [
      "1e-400",
      "-1e-400",
      "1E-400",
      "2.4e-324",
      "0.5e-324",
      "100e-330",
      tinyFraction,
      twoDigitExponent,
      `0.${"0".repeat(299)}1e-30`,
    ]) {
      for (const depth of [0, 1, 70]) {
        const text = `${"[".repeat(depth)}{"n":${literal},"zero":0}${"]".repeat(depth)}`;
        const parsed = parseExactJson(text);
        assert.equal(parsed.ok, false, `${literal} at depth ${depth}`);
        assert.match(!parsed.ok ? parsed.message : "", UNDERFLOW, literal);
        assert.equal(!parsed.ok && parsed.parseError, false);
      }
    }
    // Next to a large number that is exact, the walk's other verdict.
    assert.equal(parseExactJson(`[1e16, ${tinyFraction}]`).ok, false);
  });

  it("keeps denormals and zeros however written, and leaves strings alone", () => {
    for (const literal of ["5e-324", "2.5e-324", "1e-323", "0", "-0", "0.0", "0e-400", "-0.000e-999", `0.${"0".repeat(320)}1`]) {
      const parsed = parseExactJson(`{"n":${literal}}`);
      assert.equal(parsed.ok, true, literal);
      assert.equal(parsed.ok && (parsed.value as { n: number }).n, Number(literal), literal);
    }
    assert.equal(parseExactJson('{"s":"1e-400","n":0,"id":"4d5e-812a"}').ok, true);
  });
});

describe("a bridge server given 1e-400", () => {
  let server: BridgeServer;
  const bus = new Bus();
  before(async () => {
    server = await serve({ bus });
  });
  after(async () => {
    await server.close();
  });

  it("answers −32011 naming the literal, and the bus never sees a 0 for it", async () => {
    const seen: unknown[] = [];
    bus.follow("n:x", (message) => void seen.push(message.args));
    const connect = await post(server.url, { jsonrpc: "2.0", id: 1, method: "berrymq.connect", params: { style: "oneway" } });
    const { token } = (connect.body as { result: { token: string } }).result;
    const send = (literal: string) =>
      post(
        server.url,
        `{"jsonrpc":"2.0","id":2,"method":"berrymq.twitter","params":{"token":${JSON.stringify(token)},"identifier":"n:x","args":[${literal}]}}`,
      );
    const refused = (await send("1e-400")).body as { error?: { code: number; message: string } };
    assert.equal(refused.error?.code, BridgeErrorCode.InexactNumber);
    assert.match(refused.error?.message ?? "", /1e-400.*too small for a double/);
    assert.equal(((await send("5e-324")).body as { error?: unknown }).error, undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(seen, [[5e-324]]);
  });
});
