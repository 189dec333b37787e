// The bridge server's queues share their buffers (shared) among themselves only: its queueBytesTotal budget
// is isolated, so a client's shared queue neither takes an application's shared Queue's messages on the
// server's bus nor is refused for a different budget, and neither is the application's Queue.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RemoteQueueClient, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import { Queue } from "../../../lib/queue.js";

describe("the bridge server's shared queues and the application's", () => {
  it("keep apart: each gets every message, none refused", async () => {
    const bus = new Bus({ id: "queues-apart" });
    const before = new Queue("job:*", { bus, shared: true });
    const server = await serve({ bus, queues: ["job:*"] });
    try {
      const worker = await RemoteQueueClient.connect(server.url, { filter: "work:*", shared: true });
      const after = new Queue("work:*", { bus, shared: true, maxsize: 5 });
      const owned = await RemoteQueueClient.connect(server.url, { filter: "job:*" });
      bus.twitter("job:run", 1);
      bus.twitter("work:run", 2);
      assert.deepEqual([before.getNowait().args, (await owned.getNowait()).args], [[1], [1]]);
      assert.deepEqual([after.getNowait().args, (await worker.getNowait()).args], [[2], [2]]);
      await worker.close();
      await owned.close();
    } finally {
      await server.close();
      bus.close();
    }
  });
});
