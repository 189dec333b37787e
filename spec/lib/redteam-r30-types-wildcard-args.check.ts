// Red team r30 (types): a wildcard reaching many identifiers declared in the `{ args, answer }` form (no
// kwargs, so each also takes a trailing `kw()`: two ways to send) made SendArgs intersect 2^n tuples.
// `bus.twitter("*:ping", "a", 1)` or `bus.ask("*:ping", ...)` over 17 or more such identifiers failed to
// compile: "Expression produces a union type that is too complex to represent". Compiled by `tsc --noEmit`
// in `npm test`, never run: each `@ts-expect-error` line must fail to type-check.
import { Bus, kw, type SendArgs, stub } from "../../lib/index.js";

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const expectType = <T extends true>(): T => true as T;

type Events = {
  "svc0:ping": { args: [id: string, n: number]; answer: number };
  "svc1:ping": { args: [id: string, n: number]; answer: number };
  "svc2:ping": { args: [id: string, n: number]; answer: number };
  "svc3:ping": { args: [id: string, n: number]; answer: number };
  "svc4:ping": { args: [id: string, n: number]; answer: number };
  "svc5:ping": { args: [id: string, n: number]; answer: number };
  "svc6:ping": { args: [id: string, n: number]; answer: number };
  "svc7:ping": { args: [id: string, n: number]; answer: number };
  "svc8:ping": { args: [id: string, n: number]; answer: number };
  "svc9:ping": { args: [id: string, n: number]; answer: number };
  "svc10:ping": { args: [id: string, n: number]; answer: number };
  "svc11:ping": { args: [id: string, n: number]; answer: number };
  "svc12:ping": { args: [id: string, n: number]; answer: number };
  "svc13:ping": { args: [id: string, n: number]; answer: number };
  "svc14:ping": { args: [id: string, n: number]; answer: number };
  "svc15:ping": { args: [id: string, n: number]; answer: number };
  "svc16:ping": { args: [id: string, n: number]; answer: number };
  "svc17:ping": { args: [id: string, n: number]; answer: number };
  "svc18:ping": { args: [id: string, n: number]; answer: number };
  "svc19:ping": { args: [id: string, n: number]; answer: number };
  "svc0:stop": [force: boolean];
  "svc1:stop": [force: boolean, reason?: string];
};
const bus = new Bus<Events>();

export async function wildcards(): Promise<void> {
  bus.twitter("*:ping", "a", 1);
  bus.twitter("*:ping", "a", 1, kw({ trace: "t" }));
  const answer: number = await bus.ask("*:ping", "a", 1);
  const [first] = await bus.request("*:ping", "a", 1);
  const pinged: number = await stub("*:ping", { bus })("a", 1);
  // @ts-expect-error the args swapped
  bus.twitter("*:ping", 1, "a");
  // @ts-expect-error a missing arg
  await bus.ask("*:ping", "a");
  // Identifiers whose args differ are still intersected: what every one of them takes.
  bus.twitter("*:stop", true);
  // @ts-expect-error svc0:stop takes no reason
  bus.twitter("*:stop", true, "why");
  void [answer, first, pinged];
}
expectType<Same<SendArgs<Events, "*:ping">, [id: string, n: number] | [id: string, n: number, ReturnType<typeof kw>]>>();
