/** A short description of an unvalidated value that costs nothing, whatever its size or depth. */
export function kindOf(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value);
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) return String(value);
  return Array.isArray(value) ? `an array of ${value.length}` : `an ${typeof value}`;
}
