// Red team r30: what a schema hands back at the boundary. A schema that returned no result object (undefined,
// a string, a promise of undefined), threw a value String() cannot convert, or gave kwargs that are no plain
// object made Schemas.check() throw a TypeError or InvalidArgumentError: out of twitterChecked in place of the
// refusal, and out of a link's receive path. One whose output was no array (a zod transform) passed, and the
// followers got the unchecked input instead of the output.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { Bus } from "../../lib/bus.js";
import { useSchemas } from "../../lib/schema-map.js";
import { SchemaValidationError } from "../../lib/schema-error.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { checkedSendRefused, checkRefuses } from "../helpers/schema-refusal.js";
import { waitFor } from "../helpers/wait-for.js";

const schema = (validate: (value: unknown) => unknown): never => ({ "~standard": { version: 1, vendor: "r30", validate } }) as never;

const unreadable = (): Error => {
  const error = new Error("hidden");
  Object.defineProperty(error, "message", {
    get() {
      throw new Error("getter");
    },
  });
  return error;
};

const hostile: Record<string, { schema: never; issue: RegExp }> = {
  "returns undefined": { schema: schema(() => undefined), issue: /the schema returned undefined/ },
  "returns a string": { schema: schema(() => "ok"), issue: /the schema returned "ok"/ },
  "resolves to undefined": { schema: schema(async () => undefined), issue: /the schema returned undefined/ },
  "throws a null-prototype object": {
    schema: schema(() => {
      throw Object.create(null);
    }),
    issue: /the schema threw: \{\}/,
  },
  "rejects with a null-prototype object": {
    schema: schema(async () => {
      throw Object.create(null);
    }),
    issue: /the schema threw: \{\}/,
  },
  "throws an error whose message getter throws": {
    schema: schema(() => {
      throw unreadable();
    }),
    issue: /the schema threw: \(a thrown value that could not be read\)/,
  },
  "outputs no array (a zod transform)": {
    schema: z.tuple([z.number()]).transform(() => ({ a: 1 })) as never,
    issue: /the schema's output \{"a":1\} is no array of args/,
  },
  "outputs kwargs that are no plain object": {
    schema: { args: z.tuple([z.number()]), kwargs: schema(() => ({ value: "str" })) } as never,
    issue: /the kwargs schema's output "str" is no plain object/,
  },
};

describe("a schema's result, whatever it is, is a value or a refusal (r30)", () => {
  for (const [name, { schema: entry, issue }] of Object.entries(hostile)) {
    it(`Schemas.check refuses, never throws: a schema that ${name}`, async () => {
      const issues = await checkRefuses(entry);
      assert.match(String(issues[0]?.message), issue);
    });

    it(`twitterChecked rejects with SchemaValidationError and sends nothing: a schema that ${name}`, async () => {
      await checkedSendRefused(entry, issue);
    });
  }

  it("a link refuses such a message (counted, reported) and goes on delivering the next ones", async () => {
    const sender = new Bus();
    const receiver = useSchemas(new Bus(), { "t:x": schema(() => undefined), "t:y": z.tuple([z.number()]) }) as unknown as Bus;
    const [out, into] = MemoryLink.pair({ bus: sender }, { bus: receiver });
    const errors: unknown[] = [];
    into.on("error", (error) => errors.push(error));
    const got: string[] = [];
    receiver.follow("t:*", (m) => got.push(`${m.id} ${String(m.args[0])}`));
    sender.twitter("t:x", 1);
    sender.twitter("t:y", 2);
    await waitFor(() => got.length > 0 && errors.length > 0, "t:y and the refusal");
    assert.deepEqual(got, ["t:y 2"]);
    assert.equal(into.stats.rejected, 1);
    assert.ok(errors[0] instanceof SchemaValidationError, String(errors[0]));
    assert.match((errors[0] as Error).message, /the schema returned undefined/);
    await Promise.all([out.close(), into.close()]);
    sender.close();
    receiver.close();
  });

  it("an issue whose path is no array or holds null still makes a SchemaValidationError", () => {
    const issues = [{ message: "bad", path: [null, { key: undefined }, "a", 0] }] as never;
    assert.match(new SchemaValidationError("t:x", "m/1", issues).message, /at null\.undefined\.a\.0: bad/);
    assert.match(new SchemaValidationError("t:x", "m/1", [{ message: 5, path: "a.b" }] as never).message, /refused by its schema: invalid$/);
  });
});
