import type { StandardSchemaV1 } from "@standard-schema/spec";
import { BerryError, describe } from "./errors.js";

/** A message whose payload its identifier's schema refused; `issues` are the schema's own. */
export class SchemaValidationError extends BerryError {
  readonly identifier: string;
  readonly messageId: string;
  readonly issues: readonly StandardSchemaV1.Issue[];

  constructor(identifier: string, messageId: string, issues: readonly StandardSchemaV1.Issue[]) {
    // Issues are a schema's own: a path that is no array, or a null segment, threw a TypeError here; so did
    // an issue whose `path` or `message` getter (or Proxy trap) throws, out of a link's receive path.
    let where = "";
    let text = "invalid";
    try {
      const first = issues[0];
      const path: unknown = first?.path;
      where = !Array.isArray(path) || path.length === 0 ? "" : ` at ${path.map(pathKey).join(".")}`;
      const message: unknown = first?.message;
      if (typeof message === "string") text = message;
    } catch {
      // Named as "invalid", where unknown.
    }
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more issue(s))` : "";
    super("SCHEMA_INVALID", `message "${identifier}" (${messageId}) refused by its schema${where}: ${text}${more}`);
    this.identifier = identifier;
    this.messageId = messageId;
    this.issues = issues;
  }
}

function pathKey(segment: unknown): string {
  const key: unknown = typeof segment === "object" && segment !== null ? (segment as StandardSchemaV1.PathSegment).key : segment;
  return typeof key === "string" || typeof key === "number" || typeof key === "symbol" ? String(key) : describe(key);
}
