// A request that the answering bus's schemas refuse on its way in through a link got no answer: the asker
// waited out its whole timeout (review rv-req p2: `RequestTimeoutError` after 1,001 ms on all three links).
// It is answered now with the refusal as an error answer (a RemoteError named SchemaValidationError), when
// the answering bus would have answered the request (a follower of it there), and still reported there.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { z } from "zod";
import { type BridgeServer, PeerLink, serve } from "../../bridges/jsonrpc/index.js";
import { answerRefused, Bus } from "../../lib/bus.js";
import type { BerryError } from "../../lib/errors.js";
import { createMessage, type Message } from "../../lib/message.js";
import { replyIdentifierFor } from "../../lib/reserved.js";
import { RemoteError, RequestTimeoutError } from "../../lib/request-errors.js";
import { within } from "../../lib/request.js";
import { SchemaValidationError } from "../../lib/schema-error.js";
import { useSchemas } from "../../lib/schema-map.js";
import { waitFor } from "../helpers/wait-for.js";

describe("a request refused by the answering bus's schemas is answered with the refusal (PeerLink)", () => {
  let asker: Bus;
  let worker: Bus;
  let servers: BridgeServer[];
  // The worker's link: what the asker sends comes in through it, past the worker's schemas.
  let link: PeerLink;
  const reported: BerryError[] = [];

  before(async () => {
    asker = new Bus({ id: "asker" });
    worker = useSchemas(new Bus({ id: "worker" }), {
      "calc:add": z.tuple([z.number(), z.number()]),
      "calc:none": z.tuple([z.number()]),
    }) as unknown as Bus;
    worker.follow("calc:add", (m) => (m.args[0] as number) + (m.args[1] as number));
    servers = await Promise.all([serve({ bus: asker }), serve({ bus: worker })]);
    const [askerServer, workerServer] = servers as [BridgeServer, BridgeServer];
    link = await PeerLink.connect(askerServer.url, { bus: worker, server: workerServer });
    link.on("error", (error) => void reported.push(error));
    assert.equal(await asker.ask("calc:add", 1, 2, within({ timeout: 5_000 })), 3);
  });

  after(async () => {
    await link.close();
    await Promise.all(servers.map((server) => server.close()));
    asker.close();
    worker.close();
  });

  it("ask() rejects at once with a RemoteError named SchemaValidationError naming the issue", async () => {
    const started = performance.now();
    const error = await asker.ask("calc:add", "one", 2, within({ timeout: 4_000 })).then(
      () => assert.fail("a refused request resolved"),
      (thrown: unknown) => thrown,
    );
    const took = performance.now() - started;
    assert.ok(error instanceof RemoteError, `not a RemoteError: ${String(error)}`);
    assert.equal(error.remoteName, "SchemaValidationError");
    assert.equal(error.bus, "worker");
    assert.match(error.message, /"calc:add" .* refused by its schema at 0: /);
    assert.ok(took < 2_000, `answered after ${took.toFixed(0)} ms, not at once`);
    await waitFor(() => reported.length > 0, "the refusal reported on the worker's link", 2_000);
    assert.ok(reported[0] instanceof SchemaValidationError && reported[0].identifier === "calc:add");
  });

  it("request(): the refusal is one failed answer, still reported on the worker's side", async () => {
    const rejectedBefore = link.stats.rejected;
    const answers = await asker.request("calc:add", 1, within({ count: "all", timeout: 800 }));
    assert.equal(answers.length, 1, JSON.stringify(answers));
    const [answer] = answers;
    assert.ok(answer !== undefined && !answer.ok);
    assert.equal(answer.error.remoteName, "SchemaValidationError");
    assert.equal(answer.bus, "worker");
    await waitFor(() => link.stats.rejected === rejectedBefore + 1, "the worker's link counted it", 2_000);
  });

  it("talk(): the refusal counts as a failed answer (count 1 resolves at once, to no value)", async () => {
    const started = performance.now();
    const values = await asker.talk("calc:add", "calc:sum", "x", "y", within({ count: 1, timeout: 4_000 }));
    const took = performance.now() - started;
    assert.deepEqual(values, []);
    assert.ok(took < 2_000, `answered after ${took.toFixed(0)} ms, not at once`);
  });

  it("a bus with no follower of the identifier does not answer (it would not have answered a valid one)", async () => {
    const rejectedBefore = link.stats.rejected;
    await assert.rejects(asker.ask("calc:none", "not a number", within({ timeout: 400 })), RequestTimeoutError);
    await waitFor(() => link.stats.rejected === rejectedBefore + 1, "the worker's link still refused it", 2_000);
  });

  it("a refused message that is no request gets no answer, and is still refused", async () => {
    const rejectedBefore = link.stats.rejected;
    asker.twitter("calc:add", "no", "request");
    await waitFor(() => link.stats.rejected === rejectedBefore + 1, "the worker's link refused it", 2_000);
    assert.ok(reported.some((error) => error instanceof SchemaValidationError));
  });
});

describe("answerRefused answers only what the bus would have answered, once", () => {
  it("a request for this bus or everybody, no answer itself, followed here; once per messageId", async () => {
    const bus = new Bus({ id: "worker" });
    bus.follow("calc:add", () => 0);
    const sent: Message[] = [];
    bus.on("message", (message) => void sent.push(message));
    const request = (
      fields: { identifier?: string; to?: string | undefined; replyTo?: string | undefined; inReplyTo?: string | undefined },
      n: number,
    ) =>
      createMessage({
        identifier: fields.identifier ?? "calc:add",
        args: ["x"],
        messageId: `asker/${n}`,
        hops: ["asker"],
        replyTo: "replyTo" in fields ? fields.replyTo : replyIdentifierFor("asker"),
        inReplyTo: fields.inReplyTo,
        to: fields.to,
      });
    const error = new SchemaValidationError("calc:add", "asker/1", [{ message: "Expected number" }]);
    try {
      assert.equal(answerRefused(bus, request({}, 1), error), true, "for everybody");
      assert.equal(answerRefused(bus, request({}, 1), error), false, "the same request again (a mesh's other link)");
      assert.equal(answerRefused(bus, request({ to: "worker" }, 2), error), true, "addressed here (balanced)");
      assert.equal(answerRefused(bus, request({ to: "other" }, 3), error), false, "addressed to another bus");
      assert.equal(answerRefused(bus, request({ replyTo: undefined }, 4), error), false, "no request");
      assert.equal(answerRefused(bus, request({ inReplyTo: "worker/1", to: "worker" }, 5), error), false, "an answer");
      assert.equal(answerRefused(bus, request({ identifier: "calc:sub" }, 6), error), false, "nobody follows it here");
      // Review r26: a follower whose guard would not have taken it does not count (a bus sharded by guards).
      bus.follow("calc:mul", () => 0, { guard: (message) => message.args[0] === "shard-a" });
      assert.equal(answerRefused(bus, request({ identifier: "calc:mul" }, 7), error), false, "its guard refuses it");
      await waitFor(() => sent.length >= 2, "two error answers", 2_000);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(
        sent.map((answer) => [answer.id, answer.inReplyTo, answer.to, (answer.kwargs.error as { name: string }).name]),
        [
          ["berrymq-reply:asker", "asker/1", "asker", "SchemaValidationError"],
          ["berrymq-reply:asker", "asker/2", "asker", "SchemaValidationError"],
        ],
      );
    } finally {
      bus.close();
    }
  });
});
