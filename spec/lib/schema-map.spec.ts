// Schemas in the receive path, in-process (MemoryLink through JSON): asynchronous schemas keep arrival
// order, a throwing schema refuses, outputs replace payloads, misuse is refused at once.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { z } from "zod";
import { Bus } from "../../lib/bus.js";
import { InvalidArgumentError } from "../../lib/errors.js";
import { kw } from "../../lib/kwargs.js";
import { createMessage } from "../../lib/message.js";
import { toEnvelope } from "../../bridges/envelope.js";
import { SchemaValidationError } from "../../lib/schema-error.js";
import { schemasOf, twitterChecked, useSchemas } from "../../lib/schema-map.js";
import { MemoryLink } from "../helpers/memory-link.js";
import { waitFor } from "../helpers/wait-for.js";

function pair(schemas: Parameters<typeof useSchemas>[1]) {
  const sender = new Bus({ id: "sender" });
  const receiver = useSchemas(new Bus({ id: "receiver" }), schemas) as unknown as Bus;
  const [out, into] = MemoryLink.pair({ bus: sender }, { bus: receiver });
  const errors: Error[] = [];
  into.on("error", (error) => void errors.push(error));
  const seen: unknown[] = [];
  receiver.follow("*:*", (m) => void seen.push(m.args[0]));
  const close = async (): Promise<void> => {
    await out.close();
    await into.close();
  };
  return { sender, receiver, into, errors, seen, close };
}

describe("schemas on a link's receive path", () => {
  it("an asynchronous schema delays only as long as it runs, and later messages keep their order", async () => {
    const slow = z.tuple([z.number()]).refine(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return true;
    });
    const { sender, into, errors, seen, close } = pair({ "slow:n": slow, "fast:n": z.tuple([z.number()]) });
    sender.twitter("slow:n", 1);
    sender.twitter("fast:n", 2);
    sender.twitter("none:n", 3);
    sender.twitter("slow:n", "bad");
    sender.twitter("fast:n", 5);
    await waitFor(() => seen.length === 4 && errors.length === 1, "4 delivered, 1 refused");
    assert.deepEqual(seen, [1, 2, 3, 5]);
    assert.ok(errors[0] instanceof SchemaValidationError);
    assert.equal(into.stats.rejected, 1);
    await close();
  });

  it("a refused message sent again (an acknowledging broker resends) is dropped without a second report", async () => {
    const { into, errors, seen, close } = pair({ "t:r": z.tuple([z.number()]) });
    const frame = JSON.parse(
      JSON.stringify(toEnvelope(createMessage({ identifier: "t:r", args: ["x"], messageId: "far/1", hops: ["far"] }))),
    );
    assert.equal(into.accept(frame), undefined);
    assert.equal(into.accept(frame), undefined);
    assert.equal(errors.length, 1);
    assert.equal(into.stats.rejected, 1);
    assert.deepEqual(seen, []);
    await close();
  });

  it("a schema that throws refuses the message, with the error as its issue", async () => {
    const throwing: StandardSchemaV1<unknown, unknown[]> = {
      "~standard": {
        version: 1,
        vendor: "spec",
        validate: () => {
          throw new Error("schema bug");
        },
      },
    };
    const { sender, errors, seen, close } = pair({ "x:y": throwing });
    sender.twitter("x:y", 1);
    await waitFor(() => errors.length === 1, "the refusal");
    assert.deepEqual(seen, []);
    assert.match(errors[0]?.message ?? "", /schema bug/);
    await close();
  });

  it("followers get the schema's output (coercion, defaults)", async () => {
    const { sender, seen, close } = pair({ "n:parse": z.tuple([z.coerce.number()]) });
    sender.twitter("n:parse", "42");
    await waitFor(() => seen.length === 1, "the coerced message");
    assert.deepEqual(seen, [42]);
    await close();
  });

  it("a sender's wildcard must satisfy every schema it reaches", async () => {
    const { sender, errors, seen, close } = pair({ "a:stop": z.tuple([z.boolean()]), "b:stop": z.tuple([z.literal(true)]) });
    sender.twitter("*:stop", false);
    sender.twitter("*:stop", true);
    await waitFor(() => seen.length === 1 && errors.length === 1, "one refused, one delivered");
    assert.deepEqual(seen, [true]);
    await close();
  });

  it("local twitter is not checked; misuse of useSchemas is refused at once", () => {
    const bus = useSchemas(new Bus(), { "t:r": z.tuple([z.number()]) }) as unknown as Bus;
    let got = 0;
    bus.follow("t:r", () => void got++);
    bus.twitter("t:r", "not checked locally");
    assert.equal(got, 1);
    assert.ok(schemasOf(bus) !== undefined);
    assert.throws(() => useSchemas(new Bus(), { "t:*": z.tuple([]) }), InvalidArgumentError);
    assert.throws(() => useSchemas(new Bus(), { "t:r": { nope: true } as never }), InvalidArgumentError);
    bus.close();
  });

  it("twitterChecked checks a local send when asked: refuses an invalid payload, sends the output", async () => {
    const bus = useSchemas(new Bus(), {
      "t:r": z.tuple([z.coerce.number()]),
      "app:log": { args: z.tuple([z.string()]), kwargs: z.object({ level: z.number() }) },
    });
    const seen: unknown[] = [];
    bus.follow("*:*", (m) => void seen.push([m.id, [...m.args], { ...m.kwargs }]));
    await assert.rejects(twitterChecked(bus, "t:r", "hot" as never), SchemaValidationError);
    assert.equal(await twitterChecked(bus, "t:r", 21), 1);
    await assert.rejects(twitterChecked(bus, "app:log", "x", kw({ level: "high" }) as never), SchemaValidationError);
    assert.equal(await twitterChecked(bus, "app:log", "x", kw({ level: 3 })), 1);
    assert.deepEqual(seen, [
      ["t:r", [21], {}],
      ["app:log", ["x"], { level: 3 }],
    ]);
    (bus as unknown as Bus).close();
  });
});
