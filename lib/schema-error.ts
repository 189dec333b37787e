import type { StandardSchemaV1 } from "@standard-schema/spec";
import { BerryError } from "./errors.js";

/** A message whose payload its identifier's schema refused; `issues` are the schema's own. */
export class SchemaValidationError extends BerryError {
  readonly identifier: string;
  readonly messageId: string;
  readonly issues: readonly StandardSchemaV1.Issue[];

  constructor(identifier: string, messageId: string, issues: readonly StandardSchemaV1.Issue[]) {
    const first = issues[0];
    const where = first?.path === undefined || first.path.length === 0 ? "" : ` at ${first.path.map(pathKey).join(".")}`;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more issue(s))` : "";
    super(
      "SCHEMA_INVALID",
      `message "${identifier}" (${messageId}) refused by its schema${where}: ${first?.message ?? "invalid"}${more}`,
    );
    this.identifier = identifier;
    this.messageId = messageId;
    this.issues = issues;
  }
}

function pathKey(segment: PropertyKey | StandardSchemaV1.PathSegment): string {
  return String(typeof segment === "object" ? segment.key : segment);
}
