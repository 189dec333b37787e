// Red team r32 (core, types): `stub` and `expose` (and `autoTwitter`, `twitterException` given their options type)
// with explicit type arguments took a typed bus and any
// identifier: `stub<[string], number>("calc:mul", { bus })` compiled with "calc:mul" in no map (nor its
// args), since explicit type arguments leave the options' type at its default, past the check that refuses
// a typed bus in the untyped overload. A typed bus now goes through the typed overloads (identifier, args
// and answer from the map), as `ask<number>(...)` must name its identifier there. Compiled by
// `tsc --noEmit`, never run: each `@ts-expect-error` line must fail to type-check.
import { type AutoTwitterOptions, autoTwitter, Bus, expose, type Stub, stub, type TwitterExceptionOptions, twitterException } from "../../lib/index.js";

type Events = {
  "calc:add": { args: [a: number, b: number]; answer: number };
  "calc:name": [id: string];
};

const typed = new Bus<Events>();
const untyped = new Bus();

// @ts-expect-error a misspelled identifier with explicit Args and Result on a typed bus
stub<[string], number>("calc:mul", { bus: typed });
// @ts-expect-error even one in the map: its types come from the map
stub<[number, number], number>("calc:add", { bus: typed, timeout: 100 });
// @ts-expect-error expose too: a misspelled identifier
expose<[string], number>("calc:mul", (text: string) => text.length, { bus: typed });
// @ts-expect-error with a guard among the options
expose<[string], void>("calc:nme", () => {}, { bus: typed, guard: () => true });
// @ts-expect-error autoTwitter and twitterException with explicit options types likewise
autoTwitter<AutoTwitterOptions>("calc", { bus: typed });
// @ts-expect-error an identifier in no map
twitterException<TwitterExceptionOptions>("calc:failed", { bus: typed });

// The typed forms, from the map.
const add: Stub<[a: number, b: number], number> = stub("calc:add", { bus: typed, timeout: 100 });
expose("calc:add", (a: number, b: number) => a + b, { bus: typed });
// Explicit Args and Result on an untyped bus or the default one, as before.
const mul: Stub<[number, number], number> = stub<[number, number], number>("calc:mul", { bus: untyped, timeout: 100 });
const onDefault: Stub<[string], string> = stub<[string], string>("shop:price");
expose<[string], number>("calc:length", (text: string) => text.length, { bus: untyped });
expose<[string], number>("calc:length", (text: string) => text.length);
// A subclass of Bus (untyped) is a bus for them too.
class CountingBus extends Bus {
  sent = 0;
}
stub<[], void>("audit:flush", { bus: new CountingBus() });
autoTwitter<AutoTwitterOptions>("calc", { bus: untyped });
twitterException<TwitterExceptionOptions>("calc:failed", { bus: untyped });
void [add, mul, onDefault];
