// Red team r30 (types): stub() on a typed bus checked nothing. `stub("calc:mull", { bus })` (a typo, or an
// identifier not in the map) compiled, and the stub took any args and resolved to `unknown`. Now
// `stub(identifier, { bus })` on a typed bus takes its args and answer from the map, and refuses an
// identifier not in it. Compiled by `tsc --noEmit` in `npm test`, never run: each `@ts-expect-error` line
// must fail to type-check.
import { Bus, kw, type Stub, stub } from "../../lib/index.js";

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const expectType = <T extends true>(): T => true as T;

type Events = {
  "calc:mul": { args: [a: number, b: number]; answer: number };
  "shop:price": { args: [sku: string]; answer: string };
  "svc:ping": [];
  "app:log": { args: [text: string]; kwargs: { level: number }; answer: boolean };
};
const bus = new Bus<Events>();

// @ts-expect-error an identifier not in the map
stub("calc:mull", { bus });
// @ts-expect-error an identifier not in the map, with options
stub("shop:cost", { bus, timeout: 100 });
// @ts-expect-error a plain string cannot be checked
stub("calc:mul" as string, { bus });
// @ts-expect-error stub options have no count (a stub resolves to the first answer)
stub("calc:mul", { bus, count: 2 });

const mul = stub("calc:mul", { bus, timeout: 100 });
expectType<Same<Parameters<typeof mul>[0], number>>();
expectType<Same<Awaited<ReturnType<typeof mul>>, number>>();
const price = stub("shop:price", { bus });
expectType<Same<Awaited<ReturnType<typeof price>>, string>>();
const ping = stub("svc:ping", { bus });
expectType<Same<Awaited<ReturnType<typeof ping>>, unknown>>(); // no answer declared
const log = stub("app:log", { bus });
const anyPrice = stub("*:price", { bus });

export async function calls(): Promise<void> {
  const product: number = await mul(6, 7);
  // @ts-expect-error not a number
  await mul("6", 7);
  // @ts-expect-error missing arg
  await mul(6);
  // @ts-expect-error too many args
  await price("apple", 2);
  // @ts-expect-error calc:mul answers a number
  const text: string = await mul(6, 7);
  await ping();
  const logged: boolean = await log("disk full", kw({ level: 3 }));
  // @ts-expect-error app:log's kwargs are required
  await log("disk full");
  const priced: string = await anyPrice("apple");
  void [product, text, logged, priced];
}

// Explicit Args and Result, on an untyped bus or the default one, as before.
const untyped = new Bus();
const add: Stub<[number, number], number> = stub<[number, number], number>("calc:add", { bus: untyped, timeout: 100 });
const onDefault: Stub<[string], string> = stub<[string], string>("shop:price");
const loose: Stub<unknown[], unknown> = stub("anything:goes", { bus: untyped });
void [add, onDefault, loose];
