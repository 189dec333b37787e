// Red team r20: a queue session of a bridge server collects local messages too, and a local message may
// hold what JSON cannot carry (a BigInt, a cycle, NaN). Taking one failed the whole answer with -32603
// (a null id): every message of the batch was taken from the queue and lost with it; NaN went as null.
// Now such a message is reported (UnsendableMessageError on the server's bus) and skipped. The server runs
// in this process (its bus is where the local messages are sent); clients are raw HTTP.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type BridgeServer, BridgeErrorCode, serve, UnsendableMessageError } from "../../../bridges/jsonrpc/index.js";
import { type BerryError, Bus } from "../../../lib/index.js";
import { post } from "./raw-http.js";

type Rpc = { id: unknown; result?: { id: string; args: unknown[] }; error?: { code: number; message: string } };

describe("a queue session holding local messages JSON cannot carry", () => {
  let bus: Bus;
  let server: BridgeServer;
  const errors: BerryError[] = [];
  before(async () => {
    bus = new Bus({ id: "r20-unsendable" });
    bus.on("error", (error) => void errors.push(error));
    server = await serve({ bus });
  });
  after(async () => {
    await server.close();
    bus.close();
  });

  async function queueToken(filter: string): Promise<string> {
    const answer = await post(server.url, { jsonrpc: "2.0", id: 1, method: "berrymq.connect", params: { style: "queue", filter, ttl: 60 } });
    return (answer.body as { result: { token: string } }).result.token;
  }

  function sendBadOnes(name: string): void {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    bus.twitter(`${name}:big`, 2n ** 70n);
    bus.twitter(`${name}:cycle`, cyclic);
    bus.twitter(`${name}:nan`, { reading: Number.NaN });
  }

  it("a batch of getNowait answers the messages JSON carries, in order; the others are reported, not the batch's failure", async () => {
    const token = await queueToken("batch:*");
    errors.length = 0;
    bus.twitter("batch:first", 1);
    sendBadOnes("batch");
    bus.twitter("batch:last", 2);
    const calls = [0, 1, 2].map((id) => ({ jsonrpc: "2.0", id, method: "berrymq.getNowait", params: { token } }));
    const answer = await post(server.url, calls);
    assert.equal(answer.status, 200);
    assert.ok(Array.isArray(answer.body), `one answer per call, not one failure for the batch: ${answer.text.slice(0, 200)}`);
    const [first, second, third] = answer.body as Rpc[];
    assert.deepEqual([first?.id, first?.result?.id, first?.result?.args], [0, "batch:first", [1]]);
    assert.deepEqual([second?.id, second?.result?.id, second?.result?.args], [1, "batch:last", [2]]);
    assert.deepEqual([third?.id, third?.error?.code], [2, BridgeErrorCode.QueueEmpty]);
    const unsendable = errors.filter((error) => error instanceof UnsendableMessageError);
    assert.equal(unsendable.length, 3);
    for (const [i, what] of ["batch:big", "batch:cycle", "batch:nan"].entries()) assert.match(unsendable[i]?.message ?? "", new RegExp(what));
  });

  it("a berryMQ 0.3 get (blocking) skips them and waits for the next message JSON carries", async () => {
    const token = ((await post(server.url, { id: null, method: "connect_via_queue", params: ["old:*", 60] })).body as { result: string }).result;
    sendBadOnes("old");
    const waiting = post(server.url, { id: null, method: "get", params: [token, true, 10] });
    setTimeout(() => bus.twitter("old:good", "yes"), 100);
    const answer = (await waiting).body as { result: unknown; error: unknown };
    assert.equal(answer.error, null);
    assert.deepEqual(answer.result, ["old:good", ["yes"], {}]);
  });

  it("berrymq.get with a timeout, only unsendable messages queued: times out (-32004), not -32603", async () => {
    const token = await queueToken("only:*");
    sendBadOnes("only");
    const answer = await post(server.url, { jsonrpc: "2.0", id: 7, method: "berrymq.get", params: { token, timeout: 200 } });
    const body = answer.body as Rpc;
    assert.equal(body.id, 7);
    assert.equal(body.error?.code, BridgeErrorCode.QueueTimeout);
  });
});
