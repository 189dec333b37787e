// Red team r31 review, compiled by tsc in both decorator modes like decorators.spec.ts: the legacy
// `@following` is now typed by its method and `@Follower` takes any class. What compiled before and is
// right must still compile in both modes (methods of generic classes, with a `this` parameter, overloads,
// generic methods, promises, optional or unknown parameters, protected members, mixins, abstract classes
// with protected constructors), and every such follower must run. What each mode refuses is pinned by a
// `@ts-expect-error`: with experimentalDecorators, a parameter narrower than Message compiled until r31
// (typedFollowing checks one against an event map).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, Follower, following, type Message } from "../../lib/index.js";

const mode = import.meta.url.includes("/.build/legacy/") ? "legacy" : "standard";

describe(`r31 review: @following and @Follower types (${mode} decorators)`, () => {
  it("followers of every shape compile and run in both modes", (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    const got: string[] = [];
    const push = (what: string, message?: Message): void => void got.push(`${what} ${message?.action ?? "-"}`);

    @Follower({ bus })
    class Box<T> {
      constructor(readonly value: T) {}
      @following("box:generic")
      generic(message: Message): T {
        push("generic", message);
        return this.value;
      }
      @following("box:this")
      withThis(this: Box<T>, message: Message): void {
        push(`this ${String(this.value)}`, message);
      }
      overloaded(message: Message): void;
      overloaded(message: Message, extra: number): void;
      @following("box:overloaded")
      overloaded(message: Message, _extra?: number): void {
        push("overloaded", message);
      }
      @following("box:method")
      genericMethod<M extends Message>(message: M): M {
        push("genericMethod", message);
        return message;
      }
      @following("box:async")
      async later(message: Message): Promise<number> {
        push("async", message);
        return 1;
      }
      @following("box:optional")
      optional(message?: Message): void {
        push("optional", message);
      }
      @following("box:unknown")
      loose(message: unknown): void {
        push("unknown", message as Message);
      }
      @following("box:none")
      none(): void {
        push("none");
      }
      @following("box:protected")
      protected guarded(message: Message): void {
        push("protected", message);
      }
    }

    // A @Follower class made of a mixin, and an abstract @Follower whose constructor is protected.
    // biome-ignore lint/suspicious/noExplicitAny: TypeScript's mixin constructor
    type Base = abstract new (...args: any[]) => object;
    function Tracked<B extends Base>(base: B) {
      abstract class Mixed extends base {
        @following("box:mixin")
        track(message: Message): void {
          push("mixin", message);
        }
      }
      return Mixed;
    }
    class Plain {}
    @Follower({ bus })
    class Square extends Tracked(Plain) {}
    @Follower({ bus })
    abstract class Shape {
      protected constructor() {}
      @following("box:shape")
      shape(message: Message): void {
        push("shape", message);
      }
    }
    class Circle extends Shape {
      constructor() {
        super();
      }
    }

    const box = new Box(7);
    const square = new Square();
    const circle = new Circle();
    for (const action of [
      "generic",
      "this",
      "overloaded",
      "method",
      "async",
      "optional",
      "unknown",
      "none",
      "protected",
      "mixin",
      "shape",
    ]) {
      bus.twitter(`box:${action}`);
    }
    assert.deepEqual(got, [
      "generic generic",
      "this 7 this",
      "overloaded overloaded",
      "genericMethod method",
      "async async",
      "optional optional",
      "unknown unknown",
      "none -",
      "protected protected",
      "mixin mixin",
      "shape shape",
    ]);
    assert.equal(bus.unregister(box), true);
    assert.equal(bus.unregister(square), true);
    assert.equal(bus.unregister(circle), true);
  });

  it("a parameter narrower than Message, or another second parameter required, does not compile in either mode", () => {
    interface Reading extends Message {
      readonly args: readonly [celsius: number];
    }
    class Narrow<M extends Message> {
      // @ts-expect-error a Message subtype: typedFollowing checks one against an event map
      @following("temp:read")
      reading(_message: Reading): void {}
      // @ts-expect-error the class's own message type, narrower than Message
      @following("temp:read")
      typed(_message: M): void {}
      // @ts-expect-error a second parameter the bus never passes
      @following("temp:read")
      twoArgs(_message: Message, _unit: string): void {}
    }
    assert.equal(typeof Narrow, "function");
  });
});
