// Red team r20: a queue session was bounded in messages only (queueSize, 1,000), each up to the body limit
// (1 MiB): one client could make the server hold a GiB per session. queueBytes bounds the characters too.
// The server runs in a child process; clients are raw HTTP.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { BridgeErrorCode } from "../../../bridges/jsonrpc/index.js";
import { waitFor } from "../../helpers/wait-for.js";
import { type PeerProcess, startPeer } from "./peer-process.js";
import { post } from "./raw-http.js";

type Rpc = { id: unknown; result?: { id: string; args: unknown[] }; error?: { code: number } };

describe("a queue session bounded in characters (queueBytes)", () => {
  let server: PeerProcess;
  before(async () => {
    server = await startPeer({ busId: "r20-queue-bytes", follow: "nobody:listens", server: { queueBytes: 100_000 } });
  });
  after(async () => {
    await server.stop();
  });

  async function call(method: string, params: Record<string, unknown>): Promise<Rpc> {
    return (await post(server.url, { jsonrpc: "2.0", id: 1, method, params })).body as Rpc;
  }

  it("keeps what fits in queueBytes, reports the rest as QUEUE_OVERFLOW, and takes more once read", async () => {
    const queue = ((await call("berrymq.connect", { style: "queue", filter: "load:*", ttl: 60 })).result as unknown as { token: string })
      .token;
    const sender = ((await call("berrymq.connect", { style: "oneway", ttl: 60 })).result as unknown as { token: string }).token;
    // Messages of ~30,000 characters: three fit in 100,000, the count bound (1,000) is far off.
    for (let n = 0; n < 10; n++) {
      const sent = await call("berrymq.twitter", { token: sender, identifier: "load:m", args: [n, "x".repeat(30_000)] });
      assert.equal(sent.error, undefined);
    }
    await waitFor(
      () => server.events.filter((event) => event.event === "error" && event.code === "QUEUE_OVERFLOW").length === 7,
      "seven overflows reported",
    );
    const got: unknown[] = [];
    for (;;) {
      const answer = await call("berrymq.getNowait", { token: queue });
      if (answer.error !== undefined) {
        assert.equal(answer.error.code, BridgeErrorCode.QueueEmpty);
        break;
      }
      got.push(answer.result?.args[0]);
    }
    assert.deepEqual(got, [0, 1, 2], "the oldest three were kept (before: all ten)");
    await call("berrymq.twitter", { token: sender, identifier: "load:m", args: [10, "x".repeat(30_000)] });
    assert.deepEqual((await call("berrymq.getNowait", { token: queue })).result?.args[0], 10);
  });
});
