// The parts the one-message round trip was made to allocate less with: line tables at their size,
// recipients other than the sender memoised per identifier, one-promise sends and a plain receive loop.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as zmq from "zeromq";
import { linesForSending, SMALL_BODY, splitLines } from "../../../bridges/zeromq/batch-body.js";
import { Broker, BrokerLink } from "../../../bridges/zeromq/index.js";
import { receiveEach } from "../../../bridges/zeromq/receive-loop.js";
import { SendQueue } from "../../../bridges/zeromq/send-queue.js";
import { SubscriptionTable } from "../../../bridges/zeromq/subscription-table.js";
import { Bus } from "../../../lib/bus.js";
import { freePort } from "../../helpers/free-port.js";
import { waitFor } from "../../helpers/wait-for.js";

function linesOf(text: string): string[] {
  const body = Buffer.from(text);
  const { starts, ends } = splitLines(body);
  assert.equal(starts.length, ends.length);
  return starts.map((start, i) => body.toString("utf8", start, ends[i]));
}

describe("zeromq batch body: splitLines finds every line, arrays at their size", () => {
  it("gives the lines String.split gives, empty ones included, for small and very large bodies", () => {
    for (const text of ["x", "a\nb", "a\n", "\n", "\n\n", "é😀\n{}\n\u2028", `${"y".repeat(SMALL_BODY)}\nz`]) {
      assert.deepEqual(linesOf(text), text.split("\n"), JSON.stringify(text.slice(0, 20)));
    }
    assert.deepEqual(linesOf(""), [], "an empty body holds no line");
    // Past the size up to which the arrays are allocated at once.
    const many = Array.from({ length: 5_000 }, (_, i) => `{"n":${i}}`);
    assert.deepEqual(linesOf(many.join("\n")), many);
  });

  it("linesForSending gives a run of lines as text when small and as a view of the same bytes when large", () => {
    const body = Buffer.from(`a\nbé\nc\n${"d".repeat(SMALL_BODY + 1)}`);
    const lines = splitLines(body);
    assert.equal(linesForSending(body, lines, 1, 3), "bé\nc");
    const large = linesForSending(body, lines, 3, 4);
    assert.ok(Buffer.isBuffer(large));
    assert.equal(large.buffer, body.buffer, "no copy");
    assert.equal(large.toString(), "d".repeat(SMALL_BODY + 1));
  });
});

describe("zeromq subscription table: recipients other than the sender", () => {
  it("leaves the sender out, whichever client asks and in whatever order, and follows subscription changes", () => {
    const table = new SubscriptionTable();
    table.set("a", ["chat:*"], 0);
    table.set("b", ["chat:*"], 0);
    table.set("c", ["other:*"], 0);
    const others = (identifier: string, sender: string): [string[], string] => {
      const { topics, key } = table.others(identifier, sender);
      return [[...topics], key];
    };
    assert.deepEqual(others("chat:hi", "a"), [["b"], "b"]);
    assert.deepEqual(others("chat:hi", "b"), [["a"], "a"]);
    assert.deepEqual(others("chat:hi", "a"), [["b"], "b"], "asked again after another sender");
    assert.deepEqual(others("chat:hi", "c"), [["a", "b"], "a,b"], "a sender that is no recipient");
    assert.deepEqual(others("other:x", "a"), [["c"], "c"]);
    table.set("c", ["chat:*"], 1);
    assert.deepEqual(others("chat:hi", "a"), [["b", "c"], "b,c"], "a new subscriber is among them at once");
    table.delete("b");
    assert.deepEqual(others("chat:hi", "a"), [["c"], "c"], "a client gone is not");
    assert.deepEqual(others("chat:hi", "c"), [["a"], "a"]);
    assert.deepEqual([...table.targets("chat:hi")], ["a", "c"], "targets still name the sender");
  });
});

describe("zeromq SendQueue.post and receiveEach on real sockets", () => {
  it("posts messages in order, hands them over one by one, and reports a failed send to the queue's handler", async () => {
    const pull = new zmq.Pull({ linger: 0 });
    await pull.bind("tcp://127.0.0.1:*");
    const push = new zmq.Push({ linger: 0 });
    push.connect(pull.lastEndpoint as string);
    const failures: unknown[] = [];
    const queue = new SendQueue(push, (error) => failures.push(error));
    const got: string[] = [];
    const loop = receiveEach(pull, ([frame]) => void got.push(frame?.toString() ?? ""));
    const sent = Array.from({ length: 500 }, (_, i) => String(i));
    for (const text of sent) queue.post([text]);
    await waitFor(() => got.length === sent.length, "every message posted");
    assert.deepEqual(got, sent, "in the order posted");
    assert.equal(failures.length, 0);
    // receiveEach resolves when its socket is closed while it waits.
    pull.close();
    await loop;
    push.close();
    queue.post(["after close"]);
    await waitFor(() => failures.length === 1, "the failed send reported");
    assert.ok(failures[0] instanceof Error);
  });

  it("hands each failed post's tag to the handler, in order, sends in between failing on their own", async () => {
    const push = new zmq.Push({ linger: 0 });
    push.close();
    const failed: number[] = [];
    const queue = new SendQueue(push, (_error, tag) => void failed.push(tag));
    queue.post(["a"], 7);
    const sent = queue.send(["b"]);
    queue.post(["c"], 9);
    queue.post(["d"]);
    await assert.rejects(sent);
    await waitFor(() => failed.length === 3, "every failed post reported");
    assert.deepEqual(failed, [7, 9, 0], "the tags in posting order; the send's failure is its caller's");
  });
});

describe("zeromq BrokerLink: batches of one message and batches past the sized arrays", () => {
  it("carries a one-message batch, a batch of 3,000 (a head of 9,002 entries) and a one-line body past 8 KiB, in order", async (t) => {
    const broker = await Broker.start({ pubPort: await freePort(), recvPort: await freePort() });
    const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort, bufferSize: 10_000 };
    const publisher = await BrokerLink.connect({ bus: new Bus(), ...ports, importFilters: ["none:none"], maxBatch: 3_000 });
    const subscriber = await BrokerLink.connect({ bus: new Bus(), ...ports, importFilters: ["big:*"] });
    t.after(async () => {
      await publisher.close();
      await subscriber.close();
      broker.close();
    });
    const got: unknown[] = [];
    subscriber.bus.follow("big:*", (m) => void got.push(m.args[0]));
    publisher.bus.twitter("big:one", "first");
    await waitFor(() => got.length === 1, "the one-message batch");
    for (let i = 0; i < 3_000; i++) publisher.bus.twitter("big:many", i);
    await waitFor(() => got.length === 3_001, "the batch of 3,000", 20_000);
    const long = "é".repeat(5_000); // 10,000 bytes of UTF-8 in one line
    publisher.bus.twitter("big:long", long);
    await waitFor(() => got.length === 3_002, "the long line");
    assert.deepEqual(got, ["first", ...Array.from({ length: 3_000 }, (_, i) => i), long]);
  });
});
