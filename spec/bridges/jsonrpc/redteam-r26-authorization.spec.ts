// The Authorization scheme is case-insensitive (RFC 7235 §2.1): a client writing `bearer <secret>` is let
// in as `Bearer <secret>` is; the secret itself still has to match exactly.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type BridgeServer, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { post } from "./raw-http.js";

describe("a bridge server with a secret: the Authorization header", () => {
  let server: BridgeServer;
  before(async () => {
    server = await serve({ bus: new Bus(), secret: "s3cret" });
  });
  after(async () => {
    await server.close();
  });
  const hello = { jsonrpc: "2.0", id: 1, method: "berrymq.hello", params: {} };

  it("takes the Bearer scheme in any case", async () => {
    for (const authorization of ["Bearer s3cret", "bearer s3cret", "BEARER s3cret", "bEaReR s3cret"]) {
      const answer = await post(server.url, hello, { authorization });
      assert.equal(answer.status, 200, `${authorization}: ${answer.text}`);
    }
  });

  it("still refuses another secret, another scheme, or no space after the scheme (HTTP 401)", async () => {
    for (const authorization of ["bearer S3CRET", "Bearer s3cre", "Basic s3cret", "bearers3cret", "bearer", "s3cret"]) {
      const answer = await post(server.url, hello, { authorization });
      assert.equal(answer.status, 401, authorization);
    }
    assert.equal((await post(server.url, hello)).status, 401);
  });
});
