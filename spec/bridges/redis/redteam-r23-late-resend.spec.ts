// Red team (r23): a FINISH or a SEND that reaches Redis again more than 60 s after it first ran. A finished
// message's record used to live 60 s: a FINISH whose answer was lost and that ioredis resent after a
// longer outage got a false NotHeldError (the close had happened), and a `send()` retried with its `id`
// after 60 s recorded the message a second time (delivered twice). Finished records now live as long as
// timed-out ones (`retain`), bounded to the `finishedRecords` newest beyond a minute.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { ReceiveTimeoutError } from "../../../bridges/redis/errors.js";
import { freePort } from "../../helpers/free-port.js";
import { withClient } from "../../helpers/redis-probe.js";
import { type RedisServer, startRedis } from "../../helpers/redis-server.js";
import { sleep } from "../../helpers/wait-for.js";

// A forwarder that can drop what Redis answers (the commands still reach it) and cut every connection.
async function mutingGate(target: number): Promise<{ port: number; mute: boolean; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const port = await freePort();
  const server: Server = createServer((client) => {
    const upstream = connect(target, "127.0.0.1");
    sockets.add(client).add(upstream);
    client.on("data", (chunk) => upstream.write(chunk));
    upstream.on("data", (chunk) => {
      if (!gate.mute) client.write(chunk);
    });
    for (const [one, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      one.on("error", () => other.destroy());
      one.on("close", () => {
        sockets.delete(one);
        other.destroy();
      });
    }
  });
  const gate = {
    port,
    mute: false,
    cut: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: async () => {
      gate.cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return gate;
}

let server: RedisServer;
before(async () => {
  server = await startRedis();
});
after(async () => {
  await server.stop();
});

describe("durable channel: calls resent long after they ran (red team r23)", () => {
  it("red team: a close whose answer was lost, resent 62 s later, succeeds; a send retried with its id 62 s after its message was closed records nothing; finishedRecords bounds the records kept", {
    timeout: 120_000,
  }, async (t) => {
    const prefix = `r23-${randomUUID()}:{durable}:`;
    const gate = await mutingGate(server.port);
    // Hooks run in the order registered: the channels end first, then the gate closes. (With the gate
    // closed first, the worker, connected through it, waited END_GRACE, 5 s, in end() for a Redis it could
    // no longer reach: after every assertion, so no part of what the test shows.)
    const ends: (() => Promise<unknown>)[] = [];
    t.after(async () => {
      try {
        await Promise.all(ends.map((end) => end()));
      } finally {
        await gate.close();
      }
    });
    const sender = await DurableChannel.open("sender", { connection: server.url, prefix });
    // The worker's lease outlasts the outage (the sender's sweep goes on meanwhile).
    const worker = await DurableChannel.open("w", { connection: `redis://127.0.0.1:${gate.port}`, prefix, lease: 600_000 });
    ends.push(
      () => sender.end(),
      () => worker.end(),
    );
    worker.on("error", () => {});
    // Meanwhile, a prefix that keeps 2 finished records beyond a minute: 5 finish now, 3 after the wait.
    const bounded = `r23-${randomUUID()}:{durable}:`;
    const boundedOptions = { connection: server.url, prefix: bounded, finishedRecords: 2 };
    const boundedSender = await DurableChannel.open("bounded-sender", boundedOptions);
    const boundedWorker = await DurableChannel.open("bounded", boundedOptions);
    ends.push(
      () => boundedSender.end(),
      () => boundedWorker.end(),
    );
    const finishSome = async (n: number): Promise<string[]> => {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        ids.push((await boundedSender.send(i, { to: "bounded" })).id);
        await boundedWorker.close(await boundedWorker.receive({ timeout: 5_000 }));
      }
      return ids;
    };
    const early = await finishSome(5);

    const closedId = randomUUID();
    const first = await sender.send("to close", { to: "w", id: closedId, timeout: 600_000 });
    const lost = await sender.send("close lost", { to: "w", timeout: 600_000 });
    const toClose = await worker.receive({ timeout: 5_000 });
    assert.equal(toClose.id, closedId);
    await worker.close(toClose);
    const held = await worker.receive({ timeout: 5_000 });
    assert.equal(held.id, lost.id);

    // The close reaches Redis and runs; its answer never comes back.
    gate.mute = true;
    const closing = worker.close(held).then(
      () => "closed",
      (error: unknown) => error,
    );
    const state = (id: string): Promise<string | null> =>
      withClient(server.port, (admin) => admin.hget(`${prefix}m:${id}`, "state"));
    const deadline = Date.now() + 5_000;
    while ((await state(lost.id)) !== "done") {
      assert.ok(Date.now() < deadline, "the close ran in Redis");
      await sleep(20);
    }
    await sleep(62_000);
    // The connection is cut and comes back: ioredis sends the close again.
    gate.mute = false;
    gate.cut();
    const closeOutcome = await closing;

    // The sender retries its first send (say its answer had been lost too): the message was closed 62 s
    // ago, and must not be recorded and delivered again.
    const again = await sender.send("to close", { to: "w", id: closedId, timeout: 600_000 });
    const redelivered = await worker.receive({ timeout: 1_000 }).then(
      (message) => message.id,
      (error: unknown) => error,
    );
    assert.equal(closeOutcome, "closed", "the resent close reports what happened (it closed the message), not NotHeldError");
    assert.equal(again.sentAt, first.sentAt, "the retried send answers as the first did");
    assert.ok(redelivered instanceof ReceiveTimeoutError, `nothing is delivered twice (got ${String(redelivered)})`);

    const late = await finishSome(3);
    const { earlyKept, lateKept, listed } = await withClient(server.port, async (admin) => ({
      earlyKept: await admin.exists(...early.map((id) => `${bounded}m:${id}`)),
      lateKept: await admin.exists(...late.map((id) => `${bounded}m:${id}`)),
      listed: await admin.zrange(`${bounded}finished`, "0", "-1"),
    }));
    assert.equal(earlyKept, 0, "beyond finishedRecords, records older than a minute are dropped");
    assert.equal(lateKept, 3, "records younger than a minute are kept, whatever the bound");
    assert.deepEqual([...listed].sort(), [...late].sort(), "P finished lists the kept records");
  });
});
