// Type-level tests of typed buses (as mitt does): compiled by `tsc --noEmit` in `npm test`, never run;
// spec/lib/types-decorators.spec.ts compiles this file again with experimentalDecorators. Each
// `@ts-expect-error` line must fail to type-check; an unneeded one is itself an error.
import {
  type Answer,
  autoTwitter,
  Bus,
  type EventMap,
  Follower,
  kw,
  type Message,
  type MessageFor,
  type PatternOf,
  type PayloadOf,
  expose,
  Queue,
  type SendArgs,
  twitterException,
  typedFollowing,
  within,
} from "../../lib/index.js";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const expectType = <T extends true>(): T => true as T;

type Events = {
  "temp:read": [celsius: number];
  "temp:reset": [];
  "disk:read": [celsius: number, unit?: string];
  "worker:stop": [force: boolean];
  "disk:stop": [force: boolean];
  "app:log": { args: [text: string]; kwargs: { level: number } };
  "app:trace": { args: [text: string]; kwargs?: { span: string } };
  "calc:add": [a: number, b: number];
  "calc:sum": [sum: number];
  "x@layer:entry": [depth: number];
  "y@layer:entry": [depth: number];
};

const bus = new Bus<Events>();

// twitter: a concrete identifier takes exactly its payload.
bus.twitter("temp:read", 21.5);
bus.twitter("temp:reset");
bus.twitter("disk:read", 40);
bus.twitter("disk:read", 40, "C");
// @ts-expect-error wrong payload type
bus.twitter("temp:read", "21.5");
// @ts-expect-error missing payload
bus.twitter("temp:read");
// @ts-expect-error too many args
bus.twitter("temp:reset", 1);
// @ts-expect-error an identifier not in the map
bus.twitter("temp:write", 1);
// @ts-expect-error a non-literal identifier cannot be checked
bus.twitter("temp:read" as string, 1);

// kwargs: required ones must come as kw({...}) of the right shape; optional ones may be left out.
bus.twitter("app:log", "disk full", kw({ level: 3 }));
// @ts-expect-error kwargs missing
bus.twitter("app:log", "disk full");
// @ts-expect-error kwargs of the wrong shape
bus.twitter("app:log", "disk full", kw({ level: "high" }));
bus.twitter("app:trace", "step");
bus.twitter("app:trace", "step", kw({ span: "a1" }));

// Sender wildcards: the payload must suit every identifier the pattern reaches.
bus.twitter("*:stop", true);
bus.twitter("*:read", 30);
// @ts-expect-error "disk:read" and "temp:read" both take a number first
bus.twitter("*:read", "30");
// @ts-expect-error "temp:read" takes one number, "temp:reset" none: no payload suits both
bus.twitter("temp:*", 1);
// @ts-expect-error no payload suits every identifier
bus.twitter("*:*");
// @ts-expect-error a wildcard that reaches nothing
bus.twitter("*:explode");

// Namespaces: within their namespace only.
bus.twitter("x@layer:entry", 1);
bus.twitter("*@layer:entry", 2);
// @ts-expect-error "x:entry" is the default namespace, not "layer"
bus.twitter("x:entry", 1);
// @ts-expect-error namespaces never match across
bus.follow("*:entry", () => {});

// follow: the message is the union of what the pattern matches.
bus.follow("temp:read", (m) => {
  expectType<Equal<typeof m.args, Readonly<[celsius: number]>>>();
});
bus.follow("*:read", (m) => {
  const celsius: number = m.args[0];
  // @ts-expect-error "temp:read" has no second arg: it may be undefined
  const unit: string = m.args[1];
  void [celsius, unit];
  if (m.id === "disk:read") {
    const maybe: string | undefined = m.args[1];
    void maybe;
  }
  // @ts-expect-error "disk:write" is not something "*:read" matches
  if (m.id === "disk:write") return;
});
bus.follow("temp", (m) => {
  if (m.id === "temp:read") return m.args[0] + 1;
  // A sender's wildcard may reach this follower: the id is then the sender's pattern.
  expectType<Equal<typeof m.id, "temp:*" | "temp:reset" | "*:reset" | "*:*" | "*:read">>();
  return undefined;
});
bus.follow("app:log", (m) => {
  const level: number = m.kwargs.level;
  void level;
});
bus.follow("*@layer:entry", (m) => {
  const depth: number = m.args[0];
  void depth;
});
bus.follow("*:*", (m: Message) => m.args.length);
bus.follow("*:read", (m) => m.args[0] > 0, { guard: (m) => m.args[0] < 100 });
// @ts-expect-error a follower of "temp:read" does not get a string
bus.follow("temp:read", (m: MessageFor<Events, "app:log">) => m);
// @ts-expect-error a pattern that matches nothing
bus.follow("nothing:*", () => {});

// talk: args checked; the result type is the callback identifier's payload.
const sums: Promise<number[]> = bus.talk("calc:add", "calc:sum", 1, 2);
void sums;
// @ts-expect-error calc:add takes two numbers
void bus.talk("calc:add", "calc:sum", 1);

// talk with within() last (answers from linked processes too): the same checks.
const everywhere: Promise<number[]> = bus.talk("calc:add", "calc:sum", 1, 2, within({ timeout: 300 }));
void everywhere;
// @ts-expect-error calc:add takes two numbers, within() or not
void bus.talk("calc:add", "calc:sum", 1, within({ timeout: 300 }));

// ask/request: identifier and args checked like twitter's; the answer type is the map's `answer`.
type Asked = Events & { "calc:mul": { args: [a: number, b: number]; answer: number } };
const asking = new Bus<Asked>();
const product: Promise<number> = asking.ask("calc:mul", 2, 3);
const products: Promise<Answer<number>[]> = asking.request("calc:mul", 2, 3, within({ count: "all", timeout: 300 }));
void [product, products];
const undeclared = bus.ask("calc:add", 1, 2);
expectType<Equal<typeof undeclared, Promise<unknown>>>(); // no answer declared
const named: Promise<string> = bus.ask<string, "temp:read">("temp:read", 20);
void named;
void bus.ask("temp:read", 20, within({ timeout: 300 }));
// @ts-expect-error wrong payload
void bus.ask("temp:read", "hot");
// @ts-expect-error wrong payload, within() last
void bus.request("temp:read", "hot", within({ timeout: 300 }));
// @ts-expect-error not in the map
void bus.request("temp:raed", 1);
// @ts-expect-error an answer type on a typed bus names the identifier too: P is then every pattern
void bus.ask<number>("calc:add", 1, 2);
// @ts-expect-error the map's answer is a number
const wrongAnswer: Promise<string> = asking.ask("calc:mul", 2, 3);
void wrongAnswer;

// twitterException: the identifier must carry the error text (and kwargs { type, message }, when declared).
type Failures = {
  "parse:failed": [code: number];
  "parse:error": [text: string];
  "load:error": { args: [text: string]; kwargs: { type: string; message: string } };
};
const failures = new Bus<Failures>();
twitterException("parse:error", { bus: failures })((text: string) => JSON.parse(text) as unknown);
twitterException("load:error", { bus: failures, reraise: true })((text: string) => JSON.parse(text) as unknown);
// @ts-expect-error "parse:failed" carries a number, not the error text
twitterException("parse:failed", { bus: failures });
// @ts-expect-error not in the map
twitterException("parse:lost", { bus: failures });
twitterException("anything:failed", { bus: new Bus() }); // untyped bus: as before

// expose: the identifier from the map, the function taking its args (and answering its `answer`).
expose("calc:add", (a: number, b: number) => a + b, { bus });
expose("calc:mul", (a: number, b: number) => a * b, { bus: asking });
// @ts-expect-error not in the map
expose("calc:div", (a: number, b: number) => a / b, { bus });
// @ts-expect-error calc:add's args are numbers
expose("calc:add", (a: string) => a, { bus });
// @ts-expect-error calc:mul answers a number
expose("calc:mul", (a: number, b: number) => `${a * b}`, { bus: asking });
expose("calc:any", (text: string) => text.length, { bus: new Bus() }); // untyped bus: as before

// Short forms: "n" for "n:*" only where the name has no ":" ("a:b" is name a, action b at run time).
const deep = new Bus<{ "a:b:c": [n: number]; "d:e": [] }>();
deep.follow("a:b:*", () => {});
deep.follow("d", () => {});
// @ts-expect-error "a:b" is not "a:b:*": it matches nothing in the map
deep.follow("a:b", () => {});

// Queue: typed by its bus and filter.
const queue = new Queue("*:stop", { bus });
const next: Promise<MessageFor<Events, "*:stop">> = queue.get();
void next.then((m) => {
  const force: boolean = m.args[0];
  void force;
});
// @ts-expect-error the filter must match an identifier of the bus's map
new Queue("nothing:*", { bus });
queue.close();
// A queue annotated with only the map takes any of its messages.
const anyQueue: Queue<Events> = new Queue("temp:*", { bus });
void anyQueue.get().then((m: MessageFor<Events, "*:*" | "*@layer:*">) => m.id);
anyQueue.close();

// Helper types for other APIs (request/response): payloads, patterns, send args.
expectType<Same<PayloadOf<Events, "*:stop">, [force: boolean]>>();
expectType<Equal<SendArgs<Events, "calc:add">, [a: number, b: number]>>();
const pattern: PatternOf<Events> = "*@layer:*";
void pattern;
expectType<Events extends EventMap ? true : false>();

// Decorators (standard mode here; legacy mode in types-decorators.spec.ts).
const on = typedFollowing<Events>();
@Follower({ bus })
class Thermostat {
  @on("*:read")
  read(m: MessageFor<Events, "*:read">): number {
    return m.args[0];
  }

  @on("temp:*")
  any(_m: Message): void {}

  // @ts-expect-error the parameter only accepts "temp:read", the pattern also matches "temp:reset"
  @on("temp:*")
  narrow(_m: MessageFor<Events, "temp:read">): void {}

  // @ts-expect-error a string is not a message
  @on("temp:read")
  wrong(_text: string): void {}

  // @ts-expect-error not an identifier of the map
  @on("fan:spin")
  missing(_m: Message): void {}
}
void Thermostat;

// An untyped bus is as before: any identifier, any payload.
const plain = new Bus();
plain.twitter("anything:goes", 1, "two", kw({ three: 3 }));
plain.twitter("dynamic" as string);
plain.follow("x:*", (m: Message) => m.args[0]);
const typedIsABus: Bus = bus;
void typedIsABus;

// autoTwitter on a typed bus: the wrapped function must fit name:entry and name:exit.
type Saves = { "save:entry": [doc: string]; "save:exit": [size: number]; "save:error": [error: unknown] };
const saves = new Bus<Saves>();
const save = autoTwitter("save", { bus: saves })((doc: string) => doc.length);
const saved: number = save("hello");
void saved;
autoTwitter("save", { bus: saves })(async (doc: string) => doc.length);
// @ts-expect-error the parameters do not fit save:entry
autoTwitter("save", { bus: saves })((doc: number) => doc);
// @ts-expect-error the result does not fit save:exit
autoTwitter("save", { bus: saves })((doc: string) => doc);
// @ts-expect-error no load:entry/exit/error in the map
autoTwitter("load", { bus: saves });
class Store {
  @autoTwitter("save", { bus: saves })
  write(doc: string): number {
    return doc.length;
  }

  // @ts-expect-error the method's result does not fit save:exit
  @autoTwitter("save", { bus: saves })
  wrong(doc: string): string {
    return doc;
  }
}
void Store;
autoTwitter("anything")((x: number) => x); // untyped (default bus): as before
autoTwitter("anything", { bus: new Bus(), exit: false })((x: number) => x); // untyped bus: as before
