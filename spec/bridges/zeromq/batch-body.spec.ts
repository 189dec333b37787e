import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BodyWriter, forSending, SMALL_BODY, splitLines } from "../../../bridges/zeromq/batch-body.js";

function linesOf(body: Buffer): string[] {
  const { starts, ends } = splitLines(body);
  return starts.map((start, i) => body.toString("utf8", start, ends[i]));
}

describe("zeromq batch body: BodyWriter", () => {
  it("writes the lines' UTF-8 joined by newlines, multi-byte characters and a line past the scratch size included", () => {
    const writer = new BodyWriter();
    const lines = [JSON.stringify({ a: "é😀\u2028" }), JSON.stringify("x".repeat(200_000)), "{}", JSON.stringify(["ü".repeat(70_000)])];
    for (const line of lines) writer.push(line);
    const body = writer.take();
    assert.ok(Buffer.isBuffer(body), "a large body is a Buffer");
    assert.deepEqual(body, Buffer.from(lines.join("\n")));
    assert.deepEqual(linesOf(body), lines);
  });

  it("gives a small body as a string, multi-byte characters intact", () => {
    const writer = new BodyWriter();
    const lines = [JSON.stringify({ a: "é😀" }), "{}"];
    for (const line of lines) writer.push(line);
    assert.equal(writer.take(), lines.join("\n"));
  });

  it("starts empty after take, and a body taken stays intact when the writer is used again", () => {
    const writer = new BodyWriter();
    writer.push('{"n":1}');
    writer.push('{"n":2}');
    const first = writer.take();
    writer.push('{"n":3}');
    const second = writer.take();
    assert.equal(first, '{"n":1}\n{"n":2}');
    assert.equal(second, '{"n":3}');
    assert.equal(writer.take(), "");
    for (let i = 0; i < 100; i++) writer.push(JSON.stringify("y".repeat(200)));
    const large = writer.take();
    writer.push('{"n":4}');
    writer.take();
    assert.equal(large.toString(), Array.from({ length: 100 }, () => JSON.stringify("y".repeat(200))).join("\n"));
  });
});

describe("zeromq batch body: forSending", () => {
  it("hands a small body over as its UTF-8 text and a large one as the Buffer itself", () => {
    const small = Buffer.from('{"a":"é😀"}\n{}');
    assert.equal(forSending(small), '{"a":"é😀"}\n{}');
    const large = Buffer.from("z".repeat(SMALL_BODY + 1));
    assert.equal(forSending(large), large);
  });
});
