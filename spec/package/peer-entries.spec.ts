// berrymq/redis and berrymq/zeromq load their bridge dynamically (so a missing peer dependency fails
// with a clear error): their index must still re-export every value the bridge module exports.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

describe("optional-peer entry points", () => {
  for (const subpath of ["redis", "zeromq"]) {
    it(`berrymq/${subpath} exports every value of its bridge module, the same objects`, async () => {
      const bridge = (await import(`../../bridges/${subpath}/bridge.js`)) as Record<string, unknown>;
      const entry = (await import(`../../bridges/${subpath}/index.js`)) as Record<string, unknown>;
      assert.deepEqual(Object.keys(entry).sort(), Object.keys(bridge).sort());
      for (const [name, value] of Object.entries(bridge)) assert.equal(entry[name], value, name);
    });
  }
});
