// What every transport's schema spec checks: a far process without schemas sends invalid payloads; the
// receiving bus (with schemas) counts each in the link's `rejected`, reports it on the link's `error`
// event with the schema's issues, and no follower ever sees it. Valid messages still arrive, in order.
import assert from "node:assert/strict";
import { z } from "zod";
import type { Link } from "../../bridges/link.js";
import { Bus } from "../../lib/bus.js";
import type { BerryError } from "../../lib/errors.js";
import { SchemaValidationError } from "../../lib/schema-error.js";
import { useSchemas } from "../../lib/schema-map.js";
import { waitFor } from "../helpers/wait-for.js";

/** What the far process sends: [identifier, args, kwargs]. */
export const FAR_MESSAGES: [string, unknown[], Record<string, unknown>?][] = [
  ["temp:read", ["hot"]],
  ["temp:read", [21.5]],
  ["app:log", ["disk full"], { level: "high" }],
  ["*:read", [{ not: "a number" }]],
  ["app:log", ["disk full"], { level: 3 }],
  ["other:thing", ["no schema"]],
];

/** A bus with schemas and a follower of everything. */
export function schemaBus(id: string): { bus: Bus; seen: unknown[][] } {
  const bus = useSchemas(new Bus({ id }), {
    "temp:read": z.tuple([z.number()]),
    "disk:read": z.tuple([z.number()]),
    "app:log": { args: z.tuple([z.string()]), kwargs: z.object({ level: z.number().int() }) },
  });
  const seen: unknown[][] = [];
  (bus as Bus).follow("*:*", (m) => void seen.push([m.id, [...m.args], { ...m.kwargs }]));
  return { bus: bus as Bus, seen };
}

/** Collects a link's reported errors. */
export function linkErrors(link: Link): BerryError[] {
  const errors: BerryError[] = [];
  link.on("error", (error) => void errors.push(error));
  return errors;
}

/** Waits for the far messages and checks that only the valid ones reached the follower. */
export async function assertOnlyValidDelivered(
  link: Link,
  seen: unknown[][],
  errors: BerryError[],
  rejectedBefore: number,
): Promise<void> {
  await waitFor(() => seen.length >= 3 && errors.length >= 3, "3 valid messages and 3 schema errors", 15_000);
  assert.deepEqual(seen, [
    ["temp:read", [21.5], {}],
    ["app:log", ["disk full"], { level: 3 }],
    ["other:thing", ["no schema"], {}],
  ]);
  const invalid = errors.filter((error): error is SchemaValidationError => error instanceof SchemaValidationError);
  assert.equal(invalid.length, 3, `schema errors: ${errors.map((error) => error.message).join("; ")}`);
  assert.deepEqual(
    invalid.map((error) => error.identifier),
    ["temp:read", "app:log", "*:read"],
  );
  for (const error of invalid) {
    assert.equal(error.code, "SCHEMA_INVALID");
    assert.ok(error.issues.length > 0 && typeof error.issues[0]?.message === "string", "the schema's issues are attached");
  }
  assert.deepEqual(invalid[1]?.issues[0]?.path, ["level"], "kwargs issues carry their path");
  assert.equal(link.stats.rejected - rejectedBefore, 3);
}
