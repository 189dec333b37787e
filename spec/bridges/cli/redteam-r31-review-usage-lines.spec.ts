// Review of r31's usageError, which made its problem printable (a message's text quoted there could carry
// escape sequences): parseArgs's own messages run over lines, and their line breaks came out as `\u000a`
// (`berrymq get URL --timeout -1`: "argument is ambiguous.\u000aDid you forget ..."). Line breaks are kept;
// other control characters are still escaped.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bounded } from "../../helpers/cli-process.js";

describe("red team r31 review: a usage error over several lines", () => {
  it("keeps parseArgs's line breaks, exit 2", async () => {
    const run = await bounded(["get", "http://127.0.0.1:7200/", "--timeout", "-1"], {}, 20_000);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /^berrymq get: Option '--timeout' argument is ambiguous\.\nDid you forget /);
    assert.doesNotMatch(run.stderr, /\\u000a/);
  });

  it("still escapes any other control character", async () => {
    const run = await bounded(["tail", "http://127.0.0.1:7200/", "--\u001b[31mred"], {}, 20_000);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /^berrymq tail: Unknown option '--\\u001b\[31mred'/);
  });
});
