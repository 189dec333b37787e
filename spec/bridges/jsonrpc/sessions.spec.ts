// Sessions against clients that are busy rather than idle: a long-poll longer than the token's ttl.
// The server runs in a child process; the client is raw node:http.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { sleep } from "../../helpers/wait-for.js";
import { startPeer } from "./peer-process.js";
import { post } from "./raw-http.js";

type Legacy = { id: unknown; result: unknown; error: unknown };
type Rpc = { result?: unknown; error?: { code: number; message: string } };

describe("session ttl and long-polls", () => {
  it("get long-polls cannot take every connection: past maxWaitingGets (half of maxConnections by default) one more answers -32010 at once, both wire forms", async () => {
    const bus = new Bus({ id: "waiting-gets" });
    const server = await serve({ bus, port: 0, maxConnections: 8 });
    try {
      const connect = { jsonrpc: "2.0", id: 1, method: "berrymq.connect", params: { style: "queue", filter: "job:*" } };
      const token = ((await post(server.url, connect)).body as { result: { token: string } }).result.token;
      const get = (id: number) => post(server.url, { jsonrpc: "2.0", id, method: "berrymq.get", params: { token, timeout: 20_000 } });
      const waiting = [get(2), get(3), get(4), get(5)];
      await sleep(200);
      const refused = (await get(6)).body as Rpc;
      assert.equal(refused.error?.code, -32010, JSON.stringify(refused));
      assert.match(refused.error?.message ?? "", /maxWaitingGets/);
      const legacyToken = ((await post(server.url, { id: null, method: "connect_via_queue", params: ["job:*", 60] })).body as Legacy).result;
      const legacy = (await post(server.url, { id: null, method: "get", params: [legacyToken, true, 20] })).body as Legacy;
      assert.equal((legacy.error as { code?: number } | null)?.code, -32010, `the 0.3 form is refused too: ${JSON.stringify(legacy)}`);
      // Other calls still get a connection and an answer; a message ends one wait, and a get is taken again.
      assert.equal(((await post(server.url, { jsonrpc: "2.0", id: 7, method: "berrymq.hello" })).body as Rpc).error, undefined);
      bus.twitter("job:run", 1);
      const first = ((await Promise.race(waiting)).body as Rpc).result as { args: unknown[] };
      assert.deepEqual(first.args, [1], "a message ends one wait");
      // With a wait ended there is room for one more: it is taken, and gets a message.
      const again = get(8);
      await sleep(100);
      for (let n = 2; n <= 5; n++) bus.twitter("job:run", n);
      const answers = await Promise.all([...waiting, again]);
      assert.ok(answers.every((answer) => (answer.body as Rpc).result !== undefined), JSON.stringify(answers.map((a) => a.body)));
    } finally {
      await server.close();
    }
  });

  it("a ttl whose milliseconds overflow (1e308 s) is refused in both styles: every token expires", async () => {
    const server = await startPeer({ busId: "ttl-huge" });
    try {
      const connect = { jsonrpc: "2.0", id: 1, method: "berrymq.connect", params: { style: "oneway", ttl: 1e308 } };
      const answer = (await post(server.url, connect)).body as Rpc;
      assert.equal(answer.error?.code, -32602, JSON.stringify(answer));
      assert.match(answer.error?.message ?? "", /ttl.*at most 2147483647/);
      const legacy = (await post(server.url, { id: null, method: "connect_oneway", params: [1e308] })).body as Legacy;
      assert.equal(legacy.result, null, `no token for 1e308 s: ${JSON.stringify(legacy)}`);
      const fine = (await post(server.url, { ...connect, params: { style: "oneway", ttl: 2_147_483_647 } })).body as Rpc;
      assert.equal(typeof (fine.result as { token?: unknown })?.token, "string", JSON.stringify(fine));
    } finally {
      await server.stop();
    }
  });

  it("a 0.3 get() blocked longer than the token's ttl is not cut: the token stays alive while it waits", async () => {
    const server = await startPeer({ busId: "ttl-get", server: { sweepInterval: 50 } });
    try {
      const token = ((await post(server.url, { id: null, method: "connect_via_queue", params: ["job:*", 1] })).body as Legacy)
        .result;
      assert.equal(typeof token, "string");
      const pending = post(server.url, { id: null, method: "get", params: [token, true, 5] });
      await sleep(1_600); // past the 1 s ttl, while the get waits
      server.command({ cmd: "twitter", id: "job:run", args: [7] });
      const answer = (await pending).body as Legacy;
      assert.deepEqual(answer.result, ["job:run", [7], {}]);
      const after = (await post(server.url, { id: null, method: "get_nowait", params: [token] })).body as Legacy;
      assert.notEqual(after.result, "timeout", "the token did not expire under the waiting client");
      assert.notEqual(after.result, "invalid token");
    } finally {
      await server.stop();
    }
  });

  it("berrymq.get waiting past the ttl gets its message, and the token expires only once idle again", async () => {
    const server = await startPeer({ busId: "ttl-rpc", server: { sweepInterval: 50 } });
    try {
      const connect = { jsonrpc: "2.0", id: 1, method: "berrymq.connect", params: { style: "queue", filter: "job:*", ttl: 1 } };
      const token = ((await post(server.url, connect)).body as { result: { token: string } }).result.token;
      const pending = post(server.url, { jsonrpc: "2.0", id: 2, method: "berrymq.get", params: { token, timeout: 5_000 } });
      await sleep(1_600);
      server.command({ cmd: "twitter", id: "job:run", args: [8] });
      const answer = (await pending).body as Rpc;
      assert.equal(answer.error, undefined, JSON.stringify(answer.error));
      assert.deepEqual((answer.result as { args: unknown[] }).args, [8]);
      await sleep(1_600); // now idle past its ttl
      const late = (await post(server.url, { jsonrpc: "2.0", id: 3, method: "berrymq.getNowait", params: { token } }))
        .body as Rpc;
      assert.ok(late.error !== undefined, "idle past its ttl after the get: expired");
    } finally {
      await server.stop();
    }
  });
});
