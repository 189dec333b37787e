/** Whether a decorator's second argument is a TC39 (standard) decorator context rather than a legacy key. */
export function isStandardContext(value: unknown): value is DecoratorContext {
  return typeof value === "object" && value !== null && "kind" in value && "name" in value;
}
