import type { StandardSchemaV1 } from "@standard-schema/spec";
import { BerryError, describe } from "./errors.js";

/** A message whose payload its identifier's schema refused; `issues` are the schema's own. */
export class SchemaValidationError extends BerryError {
  readonly identifier: string;
  readonly messageId: string;
  readonly issues: readonly StandardSchemaV1.Issue[];

  constructor(identifier: string, messageId: string, issues: readonly StandardSchemaV1.Issue[]) {
    const first = issues[0];
    // Issues are a schema's own: a path that is no array, or a null segment, threw a TypeError here.
    const path: unknown = first?.path;
    const where = !Array.isArray(path) || path.length === 0 ? "" : ` at ${path.map(pathKey).join(".")}`;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more issue(s))` : "";
    const text: unknown = first?.message;
    super(
      "SCHEMA_INVALID",
      `message "${identifier}" (${messageId}) refused by its schema${where}: ${typeof text === "string" ? text : "invalid"}${more}`,
    );
    this.identifier = identifier;
    this.messageId = messageId;
    this.issues = issues;
  }
}

function pathKey(segment: unknown): string {
  const key: unknown = typeof segment === "object" && segment !== null ? (segment as StandardSchemaV1.PathSegment).key : segment;
  return typeof key === "string" || typeof key === "number" || typeof key === "symbol" ? String(key) : describe(key);
}
