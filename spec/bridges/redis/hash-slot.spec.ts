import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DurableChannel } from "../../../bridges/redis/durable-channel.js";
import { checkHashTagPrefix, effectiveHashTag, hashSlot, prefixInSlots } from "../../../bridges/redis/hash-slot.js";
import { RedisQueue } from "../../../bridges/redis/redis-queue.js";

describe("hash slots and prefixes", () => {
  it("finds the hash tag Redis Cluster uses: the first {…} with something inside, within the prefix", () => {
    assert.equal(effectiveHashTag("app:{orders}:"), "orders");
    assert.equal(effectiveHashTag("berrymq:{durable}:"), "durable");
    assert.equal(effectiveHashTag("a{b}{c}"), "b");
    for (const prefix of ["plain:", "app:{}{x}:", "app:{}:", "app:{open:", "app:}{", ""]) assert.equal(effectiveHashTag(prefix), undefined, prefix);
  });

  it("refuses, on every server shape, a prefix whose keys would scatter (the bad value named)", () => {
    assert.throws(() => checkHashTagPrefix("prefix", "app:{}{x}:"), /invalid prefix "app:\{\}\{x\}:".*hash tag/);
    // No connection is opened for a refused prefix: these throw before any client exists.
    assert.throws(() => new DurableChannel("x", { connection: "redis://127.0.0.1:1", prefix: "app:{}{x}:" }), /invalid prefix/);
    assert.throws(() => new RedisQueue("job:*", { connection: "redis://127.0.0.1:1", prefix: "app:{}:" }), /invalid prefix/);
  });

  it("computes CRC16 slots (known values) and finds a prefix in a slot range", () => {
    assert.equal(hashSlot("foo"), 12182);
    assert.equal(hashSlot("{durable}"), hashSlot("x{durable}y"));
    assert.equal(hashSlot("a{}b"), 13694, "an empty tag hashes the whole key");
    const prefix = prefixInSlots("orders", 10923, 16383);
    const slot = hashSlot(prefix);
    assert.ok(slot >= 10923 && slot <= 16383, `${prefix} → ${slot}`);
    assert.throws(() => prefixInSlots("x", -1, 5), /invalid slots/);
  });
});
