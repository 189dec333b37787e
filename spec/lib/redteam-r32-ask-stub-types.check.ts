// Red team r32 (types): a stub's options on an untyped bus (or the default one) took a `count`, which
// StubOptions does not have: `stub("calc:add", { bus, count: 2 })` compiled, and threw InvalidArgumentError
// when the stub was made (on a typed bus it was refused already: redteam-r30-types-stub.check.ts). Compiled
// by `tsc --noEmit`, never run: each `@ts-expect-error` line must fail to type-check.
import { Bus, kw, type Stub, stub, within } from "../../lib/index.js";

const untyped = new Bus();

// @ts-expect-error stub options have no count (a stub resolves to the first answer)
stub("calc:add", { bus: untyped, count: 2 });
// @ts-expect-error on the default bus either
stub("calc:add", { count: 2 });
// @ts-expect-error nor with explicit Args and Result
stub<[number], string>("calc:add", { count: 1 });
// @ts-expect-error balanced is a boolean
stub("calc:add", { bus: untyped, balanced: "yes" });

// What a stub typed <[number], string> takes and gives.
const add: Stub<[number], string> = stub<[number], string>("calc:add", { bus: untyped, timeout: 100, balanced: true });
export async function calls(): Promise<void> {
  const text: string = await add(1);
  // @ts-expect-error a string for a number
  await add("1");
  // @ts-expect-error missing arg
  await add();
  // @ts-expect-error too many args
  await add(1, 2);
  // @ts-expect-error options go to the stub when it is made, not to a call (ask() would throw: two within())
  await add(1, within({ timeout: 5 }));
  // @ts-expect-error no kwargs in its Args
  await add(1, kw({ scale: 2 }));
  // @ts-expect-error the answer is a string
  const count: number = await add(1);
  // @ts-expect-error a stub of other args is another type
  const other: Stub<[string], string> = add;
  void [text, count, other];
}
