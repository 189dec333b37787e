// Red team r30: maxBatch bounded a batch's entries (1,000) and each berrymq.sendAll's envelopes (1,000), but
// not their product. One 1 MiB POST of ~500 sendAll entries, each of 1,000 envelopes `0`, made the server
// build 500,000 errors: ~3 s with its event loop blocked, and a ~60 MB answer (held twice while a client that
// reads nothing keeps its connection for up to two responseTimeouts). The envelopes of all a batch's sendAll
// entries now count against maxBatch together: past it, one −32010 for the whole batch, as for its entries.
// Also: a well-formed notification whose params hold a `__proto__` key was answered (−32602, id null);
// JSON-RPC 2.0 answers no notification.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { BridgeErrorCode, type BridgeServer, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { post } from "./raw-http.js";

describe("red team r30: a batch's sendAll envelopes count against maxBatch together; notifications get no answer", () => {
  const bus = new Bus();
  const got: number[] = [];
  let server: BridgeServer;
  let token: string;
  before(async () => {
    bus.follow("r30:*", (m) => void got.push(m.args[0] as number));
    server = await serve({ bus });
    const opened = await post(server.url, { jsonrpc: "2.0", id: 1, method: "berrymq.connect", params: { style: "oneway" } });
    token = (opened.body as { result: { token: string } }).result.token;
  });
  after(() => server.close());

  const envelope = (n: number) => ({
    v: 1,
    id: "r30:e",
    args: [n],
    kwargs: {},
    messageId: `r30/${n}`,
    timestamp: 0,
    hops: ["r30"],
  });
  const sendAll = (id: number, envelopes: unknown[]) => ({
    jsonrpc: "2.0",
    id,
    method: "berrymq.sendAll",
    params: { token, envelopes },
  });

  it("a 1 MiB batch of sendAll calls of 1,000 two-byte envelopes each gets one −32010, small and at once", async () => {
    const entry = JSON.stringify(sendAll(1, Array(1_000).fill(0)));
    const body = `[${Array(Math.floor((server.maxBodySize - 2) / (entry.length + 1)))
      .fill(entry)
      .join(",")}]`;
    assert.ok(body.length <= server.maxBodySize);
    const started = performance.now();
    const answer = await post(server.url, body);
    const took = performance.now() - started;
    assert.equal(answer.status, 200);
    assert.ok(answer.text.length < 1_000, `one error, not one per envelope (${answer.text.length} characters)`);
    const error = (answer.body as { error: { code: number; message: string } }).error;
    assert.equal(error.code, BridgeErrorCode.LimitExceeded);
    assert.match(error.message, /berrymq\.sendAll envelopes: at most 1000 in all \(the maxBatch option\)/);
    assert.ok(took < 1_500, `answered in ${Math.round(took)} ms`);
  });

  it("two sendAll entries of 1,000 valid envelopes: refused whole, nothing delivered; one of 1,000 still is", async () => {
    got.length = 0;
    const first = Array.from({ length: 1_000 }, (_, i) => envelope(i));
    const second = Array.from({ length: 1_000 }, (_, i) => envelope(1_000 + i));
    const refused = await post(server.url, [sendAll(1, first), sendAll(2, second)]);
    assert.equal((refused.body as { error: { code: number } }).error.code, BridgeErrorCode.LimitExceeded);
    assert.equal(got.length, 0, "no envelope of a refused batch reaches the bus");
    const taken = await post(server.url, [sendAll(3, first)]);
    const results = (taken.body as { id: number; result: unknown[] }[])[0];
    assert.equal(results?.id, 3);
    assert.equal(results?.result.length, 1_000);
    assert.equal(got.length, 1_000);
  });

  it("a notification whose params hold __proto__ gets no answer, alone or in a batch", async () => {
    const notification = `{"jsonrpc":"2.0","method":"berrymq.ping","params":{"token":"${token}","__proto__":{"x":1}}}`;
    const alone = await post(server.url, notification);
    assert.equal(alone.status, 204);
    assert.equal(alone.text, "");
    const batch = await post(server.url, `[${notification},{"jsonrpc":"2.0","id":7,"method":"berrymq.hello"}]`);
    const answers = batch.body as { id: unknown }[];
    assert.deepEqual(
      answers.map((answer) => answer.id),
      [7],
    );
    // With an id, it is still refused as invalid params.
    const request = await post(server.url, `{"jsonrpc":"2.0","id":8,"method":"berrymq.ping","params":{"__proto__":{}}}`);
    assert.equal((request.body as { error: { code: number } }).error.code, BridgeErrorCode.InvalidParams);
  });
});
