// Red team r26: a schema whose output is a new array (zod always builds one) rebuilt the message without
// `to`. An answer checked on the asking bus then reached its followers but settled no request (talk() with
// within() timed out), and a balanced request relayed through a bus with schemas lost its address.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { PeerLink, serve } from "../../bridges/jsonrpc/index.js";
import { Bus } from "../../lib/bus.js";
import { createMessage, type Message } from "../../lib/message.js";
import { within } from "../../lib/request.js";
import { schemasOf, useSchemas } from "../../lib/schema-map.js";
import { MemoryLink } from "../helpers/memory-link.js";

const checked = (bus: Bus, message: Message): Message => {
  const outcome = schemasOf(bus)?.check(message);
  assert.ok(outcome !== undefined && !(outcome instanceof Promise) && outcome.issues === undefined);
  return outcome.message;
};

describe("a message rebuilt with a schema's output keeps every other field (r26)", () => {
  it("keeps to, inReplyTo, replyTo, hops, messageId and timestamp", () => {
    const bus = useSchemas(new Bus(), {
      "calc:result": z.tuple([z.number()]),
      "calc:add": { args: z.tuple([z.number(), z.number()]), kwargs: z.object({ round: z.boolean() }) },
    }) as unknown as Bus;
    const answer = createMessage({
      identifier: "calc:result",
      args: [3],
      messageId: "far/1",
      timestamp: 1_000,
      hops: ["far", "middle"],
      inReplyTo: "asker/9",
      to: "asker",
    });
    const request = createMessage({
      identifier: "calc:add",
      args: [1, 2],
      kwargs: { round: true },
      messageId: "asker/10",
      timestamp: 2_000,
      hops: ["asker"],
      replyTo: "calc:result",
      to: "worker",
    });
    for (const message of [answer, request]) {
      const rebuilt = checked(bus, message);
      assert.notEqual(rebuilt.args, message.args, "zod's output is a new array: the message was rebuilt");
      assert.deepEqual(rebuilt.toJSON(), message.toJSON());
    }
  });

  it("talk() with within() settles when the asker has a schema on the callback identifier (MemoryLink)", async () => {
    const asker = useSchemas(new Bus({ id: "asker" }), { "calc:result": z.tuple([z.number()]) }) as unknown as Bus;
    const worker = new Bus({ id: "worker" });
    const [out, into] = MemoryLink.pair({ bus: asker }, { bus: worker });
    try {
      worker.follow("calc:add", (m) => (m.args[0] as number) + (m.args[1] as number));
      let seen = 0;
      asker.follow("calc:result", () => void seen++);
      const results = await asker.talk("calc:add", "calc:result", 1, 2, within({ count: 1, timeout: 2_000 }));
      assert.deepEqual(results, [3]);
      assert.equal(seen, 1);
    } finally {
      await out.close();
      await into.close();
      asker.close();
      worker.close();
    }
  });

  it("the same across a real PeerLink", async () => {
    const asker = useSchemas(new Bus(), { "calc:result": z.tuple([z.number()]) }) as unknown as Bus;
    const worker = new Bus();
    const [askerServer, workerServer] = await Promise.all([serve({ bus: asker }), serve({ bus: worker })]);
    const link = await PeerLink.connect(workerServer.url, { bus: asker, server: askerServer });
    try {
      worker.follow("calc:add", (m) => (m.args[0] as number) + (m.args[1] as number));
      const results = await asker.talk("calc:add", "calc:result", 1, 2, within({ count: 1, timeout: 3_000 }));
      assert.deepEqual(results, [3]);
    } finally {
      await link.close();
      await Promise.all([askerServer.close(), workerServer.close()]);
      asker.close();
      worker.close();
    }
  });
});
