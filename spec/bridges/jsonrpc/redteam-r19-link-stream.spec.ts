// Red team (r19): a chunk holding one whole frame is parsed with its newline; a refused frame must be
// refused for the same reason, in the same words, as when it came in pieces (and as before).
import assert from "node:assert/strict";
import { afterEach, it } from "node:test";
import { parseExactJson } from "../../../bridges/jsonrpc/exact-json.js";
import { sleep } from "../../helpers/wait-for.js";
import { socketPair, specStream } from "../../helpers/socket-pair.js";

const toClose: { destroy(): void }[] = [];
afterEach(() => {
  for (const thing of toClose.splice(0)) thing.destroy();
});

// The reason a version 2 stream closes when `frame` (without its newline) arrives in `pieces` chunks.
async function closeReason(frame: string, pieces: number): Promise<string> {
  const [mine, theirs] = await socketPair(toClose);
  const stream = specStream(mine);
  // A batch waiting for its acknowledgement rejects with the reason the stream closed for.
  const outcome = (stream.sendBatch([{ n: 1 }], 5_000) as Promise<unknown>).then(
    () => new Error("acknowledged"),
    (e: Error) => e,
  );
  const text = Buffer.from(`${frame}\n`);
  const size = Math.ceil(text.length / pieces);
  for (let at = 0; at < text.length; at += size) {
    theirs.write(text.subarray(at, at + size));
    await sleep(5);
  }
  const error = await outcome;
  stream.close();
  return error.message;
}

it("red team: a malformed frame in one chunk closes the stream in the words of the frame alone (JSON.parse quoted the newline)", async () => {
  for (const frame of ["nul", "{x", '{"a":', "[1,]", 'tru"', "[NaN]", "[1e400]", "12345678901234567890"]) {
    const whole = await closeReason(frame, 1);
    const split = await closeReason(frame, 2);
    const expected = (parseExactJson(frame) as { message: string }).message;
    assert.ok(whole.includes(expected), `${JSON.stringify(frame)} in one chunk: ${whole}; expected ${expected}`);
    assert.ok(split.includes(expected), `${JSON.stringify(frame)} in two chunks: ${split}; expected ${expected}`);
  }
});
