// Red-team review r26 of the decorators, compiled in both decorator modes like decorators.spec.ts: a
// subclass's guard on an inherited method/pattern, the same pattern declared twice on one method, an
// overridden @exposed method, `this` in a static follower of a @Follower class, an abstract @Follower.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, exposed, Follower, following, InvalidArgumentError, type Message, within } from "../../lib/index.js";

const mode = import.meta.url.includes("/.build/legacy/") ? "legacy" : "standard";

describe(`r26 decorators (${mode} decorators)`, () => {
  it("a subclass re-declaring a base's pattern on its override: its guard is the one that counts", () => {
    const bus = new Bus();
    const log: string[] = [];
    @Follower({ bus })
    class Base {
      @following("temp:read")
      on(m: Message): void {
        log.push(`Base ${m.args[0]}`);
      }
    }
    class HotOnly extends Base {
      @following("temp:read", { guard: (m) => (m.args[0] as number) > 30 })
      override on(m: Message): void {
        log.push(`HotOnly ${m.args[0]}`);
      }
    }
    new HotOnly();
    bus.twitter("temp:read", 10);
    bus.twitter("temp:read", 40);
    assert.deepEqual(log, ["HotOnly 40"]);
    assert.equal(bus.size, 1);
    new Base();
    bus.twitter("temp:read", 10);
    assert.deepEqual(log, ["HotOnly 40", "Base 10"], "the base class keeps its own (unguarded) declaration");
    bus.close();
  });

  it("one method with the same pattern twice and two guards is refused when the class is defined", () => {
    const bus = new Bus();
    const refused = (e: unknown): boolean =>
      e instanceof InvalidArgumentError && e.message.includes('@following("x:y") on method h') && e.message.includes("guard");
    assert.throws(() => {
      class Twice {
        @following("x:y", { guard: (m) => m.args[0] === 1 })
        @following("x:y", { guard: (m) => m.args[0] === 2 })
        h(_m: Message): void {}
      }
      return Twice;
    }, refused);
    assert.throws(() => {
      // biome-ignore lint/complexity/noStaticOnlyClass: a static follower is what is tested
      class TwiceStatic {
        @following("x:y", { bus, guard: (m) => m.args[0] === 1 })
        @following("x:y", { bus, guard: (m) => m.args[0] === 2 })
        static h(_m: Message): void {}
      }
      return TwiceStatic;
    }, refused);
    // The same declaration twice is one follower, instance or static.
    const log: string[] = [];
    class Same {
      @following("x:y")
      @following("x:y")
      h(m: Message): void {
        log.push(`Same ${m.args[0]}`);
      }
    }
    // biome-ignore lint/complexity/noStaticOnlyClass: a static follower is what is tested
    class SameStatic {
      @following("x:y", { bus })
      @following("x:y", { bus })
      static h(m: Message): void {
        log.push(`SameStatic ${m.args[0]}`);
      }
    }
    void SameStatic;
    bus.register(new Same());
    assert.equal(bus.twitter("x:y", 1), 2);
    assert.deepEqual(log, ["SameStatic 1", "Same 1"]);
    bus.close();
  });

  it("an overridden @exposed method is exposed once, the override answering", async () => {
    const bus = new Bus();
    const calls: string[] = [];
    @Follower({ bus })
    class Catalog {
      @exposed("product:price")
      price(sku: string): number {
        calls.push(`Catalog.price ${sku}`);
        return 1;
      }
    }
    class Discount extends Catalog {
      @exposed("product:price")
      override price(sku: string): number {
        calls.push(`Discount.price ${sku}`);
        return 2;
      }
    }
    const discount = new Discount();
    const answers = await bus.request("product:price", "apple", within({ count: "all", timeout: 50 }));
    assert.deepEqual(
      answers.map((a) => (a.ok ? a.value : a.error.message)),
      [2],
    );
    assert.deepEqual(calls, ["Discount.price apple"]);
    assert.equal(bus.size, 1);
    // A base instance still answers with its own method.
    const catalog = new Catalog();
    bus.unregister(discount);
    assert.equal(await bus.ask("product:price", "pear", within({ timeout: 1_000 })), 1);
    bus.unregister(catalog);
    bus.close();
  });

  it("a static follower of a @Follower class runs with `this` the class its code names", () => {
    const bus = new Bus();
    const seen: unknown[] = [];
    @Follower({ bus })
    class Audit {
      static count = 0;
      @following("*:login", { bus })
      static record(_m: Message): void {
        // biome-ignore lint/complexity/noThisInStatic: `this` in a static follower is what is tested
        seen.push(this);
        // biome-ignore lint/complexity/noThisInStatic: as above
        this.count++;
      }
      @following("i:j")
      inst(_m: Message): void {}
    }
    bus.twitter("user:login");
    assert.equal(seen[0], Audit);
    assert.equal(Audit.count, 1);
    Audit.count = 0;
    bus.twitter("user:login");
    bus.twitter("user:login");
    assert.equal(Audit.count, 2);
    bus.close();
  });

  it("@Follower on an abstract class: its concrete subclasses' instances register", () => {
    const bus = new Bus();
    const log: string[] = [];
    @Follower({ bus })
    abstract class Shape {
      abstract area(): number;
      @following("shape:measure")
      measure(_m: Message): void {
        log.push(`${this.constructor.name} ${this.area()}`);
      }
    }
    class Square extends Shape {
      override area(): number {
        return 4;
      }
    }
    new Square();
    assert.equal(bus.twitter("shape:measure"), 1);
    assert.deepEqual(log, ["Square 4"]);
    bus.close();
  });
});
