// Red team r30 review: r30 made a schema's result "a value or a refusal, never a throw", for results that
// are no object. A result object whose `issues` or `value` getter (or Proxy trap) throws, or an issue whose
// `message` or `path` getter throws, still threw out of Schemas.check() or out of SchemaValidationError: out
// of twitterChecked in place of the refusal, and out of a link's receive path (MemoryLink: the valid
// message after it was lost). The result is read once, into a plain one, and the issue inside a try.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { Bus } from "../../lib/bus.js";
import { useSchemas } from "../../lib/schema-map.js";
import { SchemaValidationError } from "../../lib/schema-error.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { checkedSendRefused, checkRefuses } from "../helpers/schema-refusal.js";
import { waitFor } from "../helpers/wait-for.js";

const schema = (validate: (value: unknown) => unknown): never =>
  ({ "~standard": { version: 1, vendor: "r30", validate } }) as never;
const lazy = (): never => {
  throw new Error("lazy getter");
};

const hostile: Record<string, { schema: never; text: RegExp }> = {
  "an issues getter that throws": {
    schema: schema(() => ({
      get issues() {
        return lazy();
      },
    })),
    text: /the schema threw: lazy getter/,
  },
  "a value getter that throws": {
    schema: schema(() => ({
      get value() {
        return lazy();
      },
    })),
    text: /the schema threw: lazy getter/,
  },
  "an async result whose issues getter throws": {
    schema: schema(async () => ({
      get issues() {
        return lazy();
      },
    })),
    text: /the schema threw: lazy getter/,
  },
  "issues whose iteration throws (a Proxy)": {
    schema: schema(() => ({
      issues: new Proxy([{ message: "x" }], { get: (target, key) => (key === "length" ? lazy() : Reflect.get(target, key)) }),
    })),
    text: /the schema threw: lazy getter/,
  },
  "an issue whose message getter throws": {
    schema: schema(() => ({
      issues: [
        {
          get message() {
            return lazy();
          },
        },
      ],
    })),
    text: /refused by its schema: invalid$/,
  },
  "an issue whose path getter throws": {
    schema: schema(() => ({
      issues: [
        {
          message: "bad",
          get path() {
            return lazy();
          },
        },
      ],
    })),
    text: /refused by its schema: invalid$/,
  },
};

describe("red team r30 review: a schema result or issue whose getters throw is a refusal", () => {
  for (const [name, { schema: entry, text }] of Object.entries(hostile)) {
    it(`check() refuses and twitterChecked rejects with SchemaValidationError: ${name}`, async () => {
      await checkRefuses(entry);
      await checkedSendRefused(entry, text);
    });
  }

  it("a link refuses such a message (counted, reported) and delivers the next one", async (t) => {
    const sender = new Bus();
    const receiver = useSchemas(new Bus(), {
      "t:x": hostile["an issue whose path getter throws"]?.schema as never,
      "t:y": z.tuple([z.number()]),
    }) as unknown as Bus;
    const [out, into] = MemoryLink.pair({ bus: sender }, { bus: receiver });
    t.after(async () => {
      await Promise.all([out.close(), into.close()]);
      sender.close();
      receiver.close();
    });
    const errors: unknown[] = [];
    into.on("error", (error) => errors.push(error));
    out.on("error", () => {});
    const got: string[] = [];
    receiver.follow("t:*", (m) => got.push(`${m.id} ${String(m.args[0])}`));
    sender.twitter("t:x", 1);
    sender.twitter("t:y", 2);
    await waitFor(() => got.length > 0 && errors.length > 0, "t:y and the refusal");
    assert.deepEqual(got, ["t:y 2"]);
    assert.equal(into.stats.rejected, 1);
    assert.ok(errors[0] instanceof SchemaValidationError, String(errors[0]));
  });
});
