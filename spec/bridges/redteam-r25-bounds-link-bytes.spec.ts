// Red team r25 (bounds): a Link's buffer was bounded in messages only (bufferSize, 10,000): at a 1 MiB body
// limit ~10 GB while the far side is down (audit probe: a PeerLink's server heap 8 -> 485 MiB for 500
// messages of 1 MB). bufferBytes (default 64 Mi characters of args and kwargs as JSON, estimated) bounds it
// too: past it a message is dropped and reported as past bufferSize (LinkOverflowError).
import assert from "node:assert/strict";
import { it } from "node:test";
import { Bus } from "../../lib/bus.js";
import type { BerryError } from "../../lib/errors.js";
import type { Message } from "../../lib/message.js";
import { heapUsed } from "../helpers/heap.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { waitFor } from "../helpers/wait-for.js";

it("red team: a link keeps at most bufferBytes while the far side is down, reports the rest, and keeps again once sent", async () => {
  const a = new Bus({ id: "r25-bytes-a" });
  const b = new Bus({ id: "r25-bytes-b" });
  const got: unknown[] = [];
  b.follow("load:*", (message: Message) => void got.push(message.args[0]));
  const [left, right] = MemoryLink.pair({ bus: a, bufferBytes: 1024 * 1024, retryDelay: { initial: 10, max: 20 } }, { bus: b });
  const errors: BerryError[] = [];
  left.on("error", (error) => void errors.push(error));
  try {
    left.reachable = false;
    // Each ~200,000 characters: five fit in 1 MiB, the sixth does not (the count bound, 10,000, is far off).
    const blob = "x".repeat(200_000);
    for (let n = 0; n < 10; n++) a.twitter("load:m", n, blob);
    const overflows = errors.filter((error) => error.code === "LINK_OVERFLOW");
    assert.equal(overflows.length, 5, `five dropped past bufferBytes, ${overflows.length} reported (before the fix: none)`);
    assert.match(overflows[0]?.message ?? "", /bufferBytes 1048576/);
    assert.equal(left.backlog, 5);
    assert.equal(left.stats.dropped, 5);
    left.reachable = true;
    await waitFor(() => got.length === 5, "the five kept to arrive");
    assert.deepEqual(got, [0, 1, 2, 3, 4]);
    // Sent: the room is back.
    left.reachable = false;
    for (let n = 10; n < 15; n++) a.twitter("load:m", n, blob);
    assert.equal(left.backlog, 5);
    assert.equal(errors.filter((error) => error.code === "LINK_OVERFLOW").length, 5, "nothing more dropped");
    left.reachable = true;
    await waitFor(() => got.length === 10, "the next five to arrive");
  } finally {
    await left.close();
    await right.close();
  }
});

it("red team: by default a link whose far side is down holds far less than 200 messages of 1 MB (the heap says so)", async () => {
  const [left, right] = MemoryLink.pair(
    { bus: new Bus({ id: "r25-heap-a" }), retryDelay: { initial: 50, max: 100 } },
    { bus: new Bus() },
  );
  left.on("error", () => {});
  try {
    left.reachable = false;
    const before = heapUsed();
    // Distinct flat strings: each message holds its own megabyte.
    for (let n = 0; n < 200; n++) left.bus.twitter("big:m", Buffer.alloc(1_000_000, 97 + (n % 26)).toString("latin1"));
    const grown = heapUsed() - before;
    assert.ok(left.backlog < 70, `${left.backlog} messages kept`);
    assert.ok(grown < 120 * 1024 * 1024, `the heap grew ${(grown / 2 ** 20).toFixed(0)} MiB (before the fix: ~200)`);
  } finally {
    left.reachable = true;
    await left.close();
    await right.close();
  }
});

// Review r25: the bound refused a message larger than it alone, on a link with nothing kept (a RedisLink
// set to carry 256 MiB dropped a 70 MB message as "buffer full" while connected). A message alone goes
// when nothing else is kept: the transport's own limit decides whether it can be carried.
it("review: a message larger than bufferBytes alone is kept when nothing else is, and goes once the far side is up", async () => {
  const [left, right] = MemoryLink.pair({ bus: new Bus({ id: "r25-alone-a" }), bufferBytes: 1_000 }, { bus: new Bus({ id: "r25-alone-b" }) });
  const got: number[] = [];
  right.bus.follow("big:*", (message: Message) => void got.push(String(message.args[0]).length));
  const errors: BerryError[] = [];
  left.on("error", (error) => void errors.push(error));
  try {
    left.bus.twitter("big:m", "x".repeat(5_000)); // connected: sent
    await waitFor(() => got.length === 1, "the large message on a connected link");
    left.reachable = false;
    left.bus.twitter("big:m", "y".repeat(5_000)); // down, nothing kept: kept
    left.bus.twitter("big:m", "z".repeat(10)); // down, something kept, past the bound: dropped
    assert.equal(left.backlog, 1);
    assert.deepEqual(
      errors.map((error) => error.code),
      ["LINK_OVERFLOW"],
    );
    left.reachable = true;
    await waitFor(() => got.length === 2, "the kept large message");
    assert.deepEqual(got, [5_000, 5_000]);
  } finally {
    left.reachable = true;
    await left.close();
    await right.close();
  }
});
