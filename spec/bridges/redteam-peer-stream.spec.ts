// Red team (r18): a link's batch written by envelopesJson on a version 2 link stream, end to end between
// two buses (PeerLink over HTTP): a message whose JSON the sender writes differently from JSON.stringify.
import assert from "node:assert/strict";
import { test } from "node:test";
import { PeerLink, serve } from "../../bridges/jsonrpc/index.js";
import { Bus } from "../../lib/bus.js";
import { kw } from "../../lib/kwargs.js";
import type { Message } from "../../lib/message.js";
import { sleep, waitFor } from "../helpers/wait-for.js";

test("red team: a message whose kwargs' toJSON gives undefined, sent in one batch between two others on a version 2 stream: the two others arrive, in order, and the stream stays open", {
  timeout: 20_000,
}, async (t) => {
  const a = new Bus({ id: "rt-stream-a" });
  const b = new Bus({ id: "rt-stream-b" });
  const [serverA, serverB] = await Promise.all([serve({ bus: a }), serve({ bus: b })]);
  const link = await PeerLink.connect(serverB.url, { bus: a, server: serverA });
  const errors: Error[] = [];
  link.on("error", (error) => void errors.push(error));
  t.after(async () => {
    await link.close();
    await Promise.all([serverA.close(), serverB.close()]);
  });
  await waitFor(() => link.streaming, "the stream is open");
  const atB: unknown[] = [];
  b.follow("seq:ab", (m: Message) => void atB.push(m.args[0]));
  a.twitter("seq:ab", 0);
  await waitFor(() => atB.length === 1, "a first message");
  // One turn: one batch of three envelopes.
  a.twitter("seq:ab", 1);
  a.twitter("seq:ab", 2, kw({ toJSON: () => undefined }));
  a.twitter("seq:ab", 3);
  await sleep(1_500);
  assert.deepEqual(atB, [0, 1, 3], `delivered: ${JSON.stringify(atB)}; link errors: ${errors.map((e) => e.message).join("; ")}`);
  assert.equal(link.streaming, true, "the stream was closed by the far side (the batch frame was not JSON)");
});

test("red team: a message with a BigInt argument (twitter takes it) is refused alone as unsendable; the messages before and after it still arrive", {
  timeout: 20_000,
}, async (t) => {
  const a = new Bus({ id: "rt-bigint-a" });
  const b = new Bus({ id: "rt-bigint-b" });
  const [serverA, serverB] = await Promise.all([serve({ bus: a }), serve({ bus: b })]);
  const link = await PeerLink.connect(serverB.url, { bus: a, server: serverA });
  const errors: Error[] = [];
  link.on("error", (error) => void errors.push(error));
  t.after(async () => {
    await link.close();
    await Promise.all([serverA.close(), serverB.close()]);
  });
  await waitFor(() => link.streaming, "the stream is open");
  const atB: unknown[] = [];
  b.follow("seq:ab", (m: Message) => void atB.push(m.args[0]));
  a.twitter("seq:ab", 0);
  await waitFor(() => atB.length === 1, "a first message");
  a.twitter("seq:ab", 1);
  a.twitter("seq:ab", 2n);
  a.twitter("seq:ab", 3);
  await sleep(1_000);
  a.twitter("seq:ab", 4);
  await sleep(1_500);
  // Now: `unsendable` passes a bigint (sendable() takes any non-object), envelopesJson's JSON.stringify
  // throws, the Link retries the whole batch forever ("far side unreachable, retrying: Do not know how to
  // serialize a BigInt"): 1, 3 and 4 never arrive, and nothing after them on this link ever will.
  assert.deepEqual(
    atB,
    [0, 1, 3, 4],
    `delivered ${JSON.stringify(atB.map(String))}; errors: ${errors.map((e) => e.message).join(" | ")}`,
  );
});
