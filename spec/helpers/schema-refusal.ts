import assert from "node:assert/strict";
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { Bus } from "../../lib/bus.js";
import { createMessage } from "../../lib/message.js";
import { type SchemaEntry, type SchemaOutcome, Schemas, twitterChecked, useSchemas } from "../../lib/schema-map.js";
import { SchemaValidationError } from "../../lib/schema-error.js";

/** Asserts that `Schemas.check` of a `t:x` message refuses (never throws) with `entry`; resolves to its issues. */
export async function checkRefuses(entry: SchemaEntry): Promise<readonly StandardSchemaV1.Issue[]> {
  const message = createMessage({ identifier: "t:x", args: [1], messageId: "far/1", hops: ["far"] });
  let outcome: SchemaOutcome | Promise<SchemaOutcome> | undefined;
  assert.doesNotThrow(() => {
    outcome = new Schemas({ "t:x": entry }).check(message);
  });
  const settled = await (outcome as SchemaOutcome | Promise<SchemaOutcome>);
  assert.ok(settled.issues !== undefined, "refused");
  return settled.issues;
}

/** Asserts that `twitterChecked` of `t:x` on a bus using `entry` rejects with a SchemaValidationError matching `text`, sending nothing. */
export async function checkedSendRefused(entry: SchemaEntry, text: RegExp): Promise<void> {
  const bus = useSchemas(new Bus(), { "t:x": entry }) as unknown as Bus;
  try {
    const got: unknown[] = [];
    bus.follow("t:x", (m) => got.push(m.args));
    await assert.rejects(twitterChecked(bus, "t:x", 1), (error: unknown) => {
      assert.ok(error instanceof SchemaValidationError, `a SchemaValidationError, not ${String(error)}`);
      assert.match(error.message, text);
      return true;
    });
    assert.deepEqual(got, []);
  } finally {
    bus.close();
  }
}
