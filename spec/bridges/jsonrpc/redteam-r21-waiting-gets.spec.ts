// Red team (r21): maxWaitingGets bounds get long-polls on the whole server, not per client: one client
// holding all of them locked every other client's long-polls out (-32010 for everyone else).
import assert from "node:assert/strict";
import { it } from "node:test";
import { type BridgeServer, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { sleep } from "../../helpers/wait-for.js";
import { post, type RawAnswer } from "./raw-http.js";

type Legacy = { id: unknown; result: unknown; error: { code?: number; message?: string } | null };
type Rpc = { result?: { args?: unknown[] }; error?: { code: number; message: string } };

async function queueToken(server: BridgeServer): Promise<string> {
  const connect = { jsonrpc: "2.0", id: 1, method: "berrymq.connect", params: { style: "queue", filter: "job:*" } };
  return ((await post(server.url, connect)).body as { result: { token: string } }).result.token;
}

function get(server: BridgeServer, token: string, id: number): Promise<RawAnswer> {
  return post(server.url, { jsonrpc: "2.0", id, method: "berrymq.get", params: { token, timeout: 20_000 } });
}

it("red team: one token opening more get long-polls than maxWaitingGetsPerSession gets -32010 for the extra ones (both wire forms), and another token's get is still served", async () => {
  const bus = new Bus({ id: "rt21-waiting-gets" });
  const server = await serve({ bus, port: 0, maxWaitingGets: 8, maxWaitingGetsPerSession: 4 });
  try {
    const greedy = await queueToken(server);
    const other = await queueToken(server);
    const greedyGets = Array.from({ length: 8 }, (_, i) => get(server, greedy, 10 + i));
    await sleep(300);
    const legacyGreedy = ((await post(server.url, { id: null, method: "get", params: [greedy, true, 20] })).body as Legacy).error;
    assert.equal(legacyGreedy?.code, -32010, `the 0.3 form is refused too: ${JSON.stringify(legacyGreedy)}`);
    assert.match(legacyGreedy?.message ?? "", /maxWaitingGetsPerSession/);
    // Before: the greedy token's 8 waits took every slot, and this one answered -32010 at once.
    const otherGet = get(server, other, 2);
    await sleep(200);
    // One message for each wait of the greedy token's queue (each queue has its own copies).
    for (let n = 1; n <= 4; n++) bus.twitter("job:run", n);
    const served = (await otherGet).body as Rpc;
    assert.deepEqual(served.result?.args, [1], JSON.stringify(served));
    const answers = (await Promise.all(greedyGets)).map((answer) => answer.body as Rpc);
    const refused = answers.filter((answer) => answer.error !== undefined);
    assert.equal(refused.length, 4, JSON.stringify(answers));
    for (const answer of refused) {
      assert.equal(answer.error?.code, -32010);
      assert.match(
        answer.error?.message ?? "",
        /too many get calls waiting on this token \(4, the maxWaitingGetsPerSession option\)/,
      );
    }
    assert.ok(answers.filter((answer) => answer.result !== undefined).length === 4, JSON.stringify(answers));
  } finally {
    await server.close();
  }
});

it("maxWaitingGetsPerSession is 8 by default: a token's ninth waiting get answers -32010 at once, another token's is taken", async () => {
  const bus = new Bus({ id: "rt21-waiting-gets-default" });
  const server = await serve({ bus, port: 0 });
  try {
    const greedy = await queueToken(server);
    const other = await queueToken(server);
    const waits = Array.from({ length: 8 }, (_, i) => get(server, greedy, 10 + i));
    await sleep(300);
    const ninth = (await get(server, greedy, 30)).body as Rpc;
    assert.equal(ninth.error?.code, -32010, JSON.stringify(ninth));
    const otherGet = get(server, other, 31);
    await sleep(200);
    for (let n = 1; n <= 8; n++) bus.twitter("job:run", n);
    assert.deepEqual(((await otherGet).body as Rpc).result?.args, [1]);
    const answers = (await Promise.all(waits)).map((answer) => answer.body as Rpc);
    assert.ok(
      answers.every((answer) => answer.result !== undefined),
      JSON.stringify(answers),
    );
  } finally {
    await server.close();
  }
});

it("maxWaitingGetsPerSession must be an integer >= 1", async () => {
  await assert.rejects(
    serve({ bus: new Bus(), port: 0, maxWaitingGetsPerSession: 0 }),
    /invalid maxWaitingGetsPerSession 0: expected an integer >= 1/,
  );
});
