// Red team (r18): a link's batch written by envelopesJson on a version 2 link stream, end to end between
// two buses (PeerLink over HTTP): a message whose JSON the sender writes differently from JSON.stringify.
import assert from "node:assert/strict";
import { test } from "node:test";
import { UnsendableMessageError } from "../../bridges/errors.js";
import { kw } from "../../lib/kwargs.js";
import { sleep } from "../helpers/wait-for.js";
import { streamingPair } from "../helpers/streaming-pair.js";

test("red team: a message whose kwargs' toJSON gives undefined, sent in one batch between two others on a version 2 stream: the two others arrive, in order, and the stream stays open", {
  timeout: 20_000,
}, async (t) => {
  const { a, link, errors, atB } = await streamingPair(t, "rt-stream");
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
  const { a, errors, atB } = await streamingPair(t, "rt-bigint");
  a.twitter("seq:ab", 1);
  a.twitter("seq:ab", 2n);
  a.twitter("seq:ab", 3);
  await sleep(1_000);
  a.twitter("seq:ab", 4);
  await sleep(1_500);
  // Before every Link refused what JSON cannot carry: envelopesJson's JSON.stringify threw, the Link
  // retried the whole batch forever ("far side unreachable, retrying: Do not know how to serialize a
  // BigInt"), and 1, 3, 4 and everything after them on this link never arrived.
  assert.deepEqual(
    atB,
    [0, 1, 3, 4],
    `delivered ${JSON.stringify(atB.map(String))}; errors: ${errors.map((e) => e.message).join(" | ")}`,
  );
});

test("a message whose argument's toJSON throws (or gives a BigInt) is refused alone as unsendable; a Date still goes as its ISO text; the messages around them arrive", {
  timeout: 20_000,
}, async (t) => {
  const { a, errors, atB } = await streamingPair(t, "rt-tojson");
  const when = new Date(Date.UTC(2026, 11, 6));
  a.twitter("seq:ab", 1);
  a.twitter("seq:ab", 2, { toJSON: () => { throw new Error("cannot be written"); } });
  a.twitter("seq:ab", 3, { nested: [{ toJSON: () => 10n }] });
  a.twitter("seq:ab", when);
  await sleep(1_000);
  a.twitter("seq:ab", 5);
  await sleep(1_500);
  // Before: the sendable check walked past a toJSON, JSON.stringify then threw inside transmit, and the
  // Link retried the whole batch for ever: 1, the Date, 5 and everything after them never arrived.
  assert.deepEqual(atB, [0, 1, when.toISOString(), 5], `delivered ${JSON.stringify(atB)}; errors: ${errors.map((e) => e.message).join(" | ")}`);
  const refused = errors.filter((error) => error instanceof UnsendableMessageError);
  assert.equal(refused.length, 2, errors.map((e) => e.message).join(" | "));
  assert.match(refused[0]?.message ?? "", /toJSON/);
});
