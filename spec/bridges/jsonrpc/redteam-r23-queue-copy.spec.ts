// Review r23: a client's copy of a queue the server owns (`berrymq tail`), and the clients before it.
// Every RemoteQueueClient before r23 sent `shared: false` when the option was left out; the server read
// `shared || owned`, so workers on a filter the server owns competed. A copy must be asked for by a
// parameter of its own, or old workers would each get every job.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, describe, it } from "node:test";
import { RemoteQueueClient, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { InvalidArgumentError } from "../../../lib/errors.js";
import { freePort } from "../../helpers/free-port.js";

async function drain(queue: RemoteQueueClient): Promise<unknown[]> {
  const got: unknown[] = [];
  for (;;) {
    try {
      got.push((await queue.getNowait()).args[0]);
    } catch {
      return got;
    }
  }
}

describe("red team r23: copies of an owned queue, and older clients", () => {
  const closing: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const close of closing.reverse()) await close();
  });

  it("workers sending shared: false (every client before r23) still compete on an owned filter; copy: true gets every message", async () => {
    const bus = new Bus({ id: "copy-srv" });
    const server = await serve({ bus, queues: ["job:*"] });
    closing.push(async () => {
      await server.close();
      bus.close();
    });
    const workers = [
      await RemoteQueueClient.connect(server.url, { filter: "job:*", shared: false }),
      await RemoteQueueClient.connect(server.url, { filter: "job:*" }),
    ];
    const watcher = await RemoteQueueClient.connect(server.url, { filter: "job:*", copy: true });
    for (let i = 1; i <= 4; i++) bus.twitter("job:run", i);
    const [first, second] = [await drain(workers[0] as RemoteQueueClient), await drain(workers[1] as RemoteQueueClient)];
    assert.deepEqual([...first, ...second].sort(), [1, 2, 3, 4], "the workers share the four jobs, each once");
    assert.deepEqual(await drain(watcher), [1, 2, 3, 4], "the copy sees all four");
    for (const queue of [...workers, watcher]) await queue.close();
    await assert.rejects(RemoteQueueClient.connect(server.url, { filter: "job:*", copy: true, shared: true }), /invalid copy true/);
  });

  it("copy: true of an older server (no copy echoed) that owns the filter is refused, not handed the workers' messages", async () => {
    // What a server before r23 answers: it ignores `copy`.
    const closed: unknown[] = [];
    const older: Server = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      request.on("end", () => {
        const call = JSON.parse(body) as { id: number; method: string; params: Record<string, unknown> };
        if (call.method !== "berrymq.hello" && call.method !== "berrymq.connect") closed.push(call.params.token);
        const result =
          call.method === "berrymq.hello"
            ? { busId: "older", version: 2, queues: ["job:*"] }
            : call.method === "berrymq.connect"
              ? { token: `t-${String(call.params.filter)}` }
              : true;
        response.setHeader("content-type", "application/json");
        response.end(JSON.stringify({ jsonrpc: "2.0", id: call.id, result }));
      });
    });
    const port = await freePort();
    await new Promise<void>((resolve) => older.listen(port, "127.0.0.1", resolve));
    closing.push(() => new Promise<void>((resolve) => older.close(() => resolve())));
    const url = `http://127.0.0.1:${port}/`;
    await assert.rejects(RemoteQueueClient.connect(url, { filter: "job:*", copy: true }), (error: unknown) => {
      assert.ok(error instanceof InvalidArgumentError);
      assert.match(error.message, /older and owns a queue of "job:\*"/);
      return true;
    });
    assert.deepEqual(closed, ["t-job:*"], "the queue it was given is closed");
    const other = await RemoteQueueClient.connect(url, { filter: "other:*", copy: true });
    assert.equal(other.filter, "other:*", "a filter it does not own is a copy anyway");
  });
});
