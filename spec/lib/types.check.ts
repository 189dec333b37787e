// Type-level tests (as mitt does): compiled by `tsc --noEmit` in `npm test`, never run. Each
// `@ts-expect-error` line must fail to type-check; an unneeded one is itself an error.
import {
  type Answer,
  type BerryError,
  Bus,
  expose,
  Follower,
  following,
  kw,
  type Message,
  Queue,
  within,
} from "../../lib/index.js";

const bus = new Bus();

bus.twitter("a:b", 1, "two", kw({ three: 3 }));
// @ts-expect-error an identifier is a string
bus.twitter(42);
// @ts-expect-error kwargs are an object
kw("level=3");

bus.follow("a:*", (message: Message) => message.args.length);
// @ts-expect-error a follower takes a Message, not a string
bus.follow("a:*", (text: string) => text.length);
// @ts-expect-error a guard returns a boolean
bus.follow("a:*", () => {}, { guard: () => "yes" });

bus.on("error", (error: BerryError) => error.code);
// @ts-expect-error the bus emits only error and message events
bus.on("unknown-event", () => {});

const onMessage = (message: Message): void => {
  // @ts-expect-error messages are read-only
  message.id = "x";
  // @ts-expect-error args are read-only
  message.args.push(1);
};
bus.follow("*:*", onMessage);

const queue = new Queue("a:*", { bus, maxsize: 10, overflow: "drop-oldest" });
// @ts-expect-error only the two documented overflow policies exist
new Queue("a:*", { bus, overflow: "spill" });
const next: Promise<Message> = queue.get({ timeout: 10 });
void next;

@Follower({ bus })
class Typed {
  @following("a:b")
  ok(_message: Message): void {}
}
void Typed;

const talked: Promise<unknown[]> = bus.talk("a:b", "a:c", 1);
void talked;
const talkedEverywhere: Promise<unknown[]> = bus.talk("a:b", "a:c", 1, within({ timeout: 300 }));
void talkedEverywhere;

// ask/request on an untyped bus: any identifier and args; the answer type as given, else unknown.
const sum: Promise<number> = bus.ask<number>("calc:add", 1, 2, within({ timeout: 300 }));
const answers: Promise<Answer<string>[]> = bus.request<string>("who:am", within({ count: "all" }));
const anything: Promise<unknown> = bus.ask("any:thing");
const text: Promise<string> = bus.ask<string>("any:thing");
const dynamic: Promise<unknown> = bus.ask("any:thing" as string, 1);
void [sum, answers, anything, text, dynamic];
// @ts-expect-error an identifier is a string
void bus.ask(42);
expose<[number], number>("calc:twice", (n) => n * 2, { bus });

class StaticTyped {
  @following("a:b", { bus })
  static ok(_message: Message): void {}
  // @ts-expect-error a static follower takes a Message too
  @following("a:b", { bus })
  static wrong(_n: number): void {}
  // @ts-expect-error a field cannot follow
  @following("a:b")
  field = 1;
}
void StaticTyped;
