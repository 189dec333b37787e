// Red team (r30): a link's batch whose stream frame is exactly the far side's frame limit. The far side takes
// a frame of exactly maxFrame bytes (its newline not counted: link-stream-v2's "a frame of exactly maxFrame
// bytes is taken"), as its server takes a POST body of exactly maxBodySize bytes; the sender counted the
// newline against that limit, so such a batch was not sent on the stream but as a POST, whose body (each
// envelope wrapped in a `berrymq.send` call, in the named form) is larger: refused (413), and a message alone
// in it dropped as unsendable although the stream takes it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Deliverer, LinkStream } from "../../../bridges/jsonrpc/link-stream.js";
import { socketPair } from "../../helpers/socket-pair.js";
import { waitFor } from "../../helpers/wait-for.js";

const LIMIT = 300;

// The JSON of one envelope (a string here: the stream checks nothing of it) that makes batch 1's frame,
// `{"b":1,"e":[...]}` without its newline, exactly `bytes` long.
function envelopesOf(bytes: number): string {
  const frame = (fill: number): string => `{"b":1,"e":["${"x".repeat(fill)}"]}`;
  const fill = bytes - frame(0).length;
  assert.equal(frame(fill).length, bytes);
  return `["${"x".repeat(fill)}"]`;
}

for (const [bytes, carried] of [
  [LIMIT, true],
  [LIMIT + 1, false],
] as const) {
  test(`a batch whose frame is ${bytes} bytes, the far side taking ${LIMIT}: ${carried ? "sent on the stream, taken and acknowledged" : "left to a POST"}`, {
    timeout: 10_000,
  }, async (t) => {
    const toClose: { destroy(): void }[] = [];
    t.after(() => {
      for (const socket of toClose) socket.destroy();
    });
    const [near, far] = await socketPair(toClose);
    const taken: unknown[] = [];
    const receiver = new LinkStream(far, Buffer.alloc(0), {
      name: "far end",
      maxFrame: LIMIT,
      farMaxFrame: LIMIT,
      answer: () => null,
      version: 2,
      take: (envelopes): Deliverer => (start, end) => {
        taken.push(...envelopes.slice(start, end));
        return envelopes.slice(start, end).map(() => null);
      },
    });
    const sender = new LinkStream(near, Buffer.alloc(0), {
      name: "near end",
      maxFrame: LIMIT,
      farMaxFrame: LIMIT,
      answer: () => null,
      version: 2,
      take: (): Deliverer => () => [],
    });
    t.after(() => {
      sender.close("done");
      receiver.close("done");
    });
    let acknowledged = false;
    let failed: unknown;
    const onStream = sender.sendEncodedBatchTo(
      envelopesOf(bytes),
      5_000,
      () => {
        acknowledged = true;
      },
      (error) => {
        failed = error;
      },
    );
    if (!carried) {
      assert.equal(onStream, false, "a frame larger than the far side takes is not written");
      return;
    }
    // Before: false, and the link POSTed it.
    assert.equal(onStream, true, `a frame of exactly ${LIMIT} bytes, which the far side takes, goes on the stream`);
    await waitFor(() => acknowledged || failed !== undefined || sender.closed, "the batch's outcome");
    assert.equal(failed, undefined);
    assert.equal(acknowledged, true);
    assert.equal(taken.length, 1, "the far side took the envelope");
    assert.equal(receiver.closed, false, "and kept the stream open");
  });
}
