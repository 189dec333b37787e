// Red team r20: followers declared on symbol-named methods. Specs were de-duplicated by
// `String(method)`, so two symbols with one description (two distinct methods) counted as one and the
// second silently never received anything. Standard decorators are compiled here by tsx; the
// experimentalDecorators form is applied by hand, as tsc's output calls it (prototype, key, descriptor).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, following, type Message } from "../../lib/index.js";

const first = Symbol("on");
const second = Symbol("on");

describe("followers on symbol-named methods", () => {
  it("[standard decorators] two symbols with one description are two followers", () => {
    class Twins {
      seen: string[] = [];
      @following("twin:*")
      [first](message: Message): void {
        this.seen.push(`first ${message.id}`);
      }
      @following("twin:*")
      [second](message: Message): void {
        this.seen.push(`second ${message.id}`);
      }
    }
    const bus = new Bus();
    const twins = new Twins();
    bus.register(twins);
    assert.equal(bus.twitter("twin:go"), 2);
    assert.deepEqual(twins.seen, ["first twin:go", "second twin:go"]);
  });

  it("[experimentalDecorators] two symbols with one description are two followers, each once", () => {
    class Twins {
      seen: string[] = [];
      [first](message: Message): void {
        this.seen.push(`first ${message.id}`);
      }
      [second](message: Message): void {
        this.seen.push(`second ${message.id}`);
      }
    }
    for (const method of [first, second]) {
      const descriptor = Object.getOwnPropertyDescriptor(Twins.prototype, method) as PropertyDescriptor;
      following("twin:*")(Twins.prototype, method, descriptor);
    }
    // A subclass re-declaring one of them with the same pattern still has each follower once.
    class Child extends Twins {}
    following("twin:*")(Child.prototype, second, Object.getOwnPropertyDescriptor(Twins.prototype, second) as PropertyDescriptor);
    const bus = new Bus();
    const child = new Child();
    bus.register(child);
    assert.equal(bus.twitter("twin:go"), 2);
    assert.deepEqual(child.seen, ["first twin:go", "second twin:go"]);
  });

  it('a method named "Symbol(log)" and a symbol described "log" are two followers', () => {
    const named = Symbol("log");
    class Mixed {
      seen: string[] = [];
      @following("mixed:*")
      "Symbol(log)"(message: Message): void {
        this.seen.push(`string ${message.id}`);
      }
      @following("mixed:*")
      [named](message: Message): void {
        this.seen.push(`symbol ${message.id}`);
      }
    }
    const bus = new Bus();
    const mixed = new Mixed();
    bus.register(mixed);
    bus.twitter("mixed:go");
    assert.deepEqual(mixed.seen.sort(), ["string mixed:go", "symbol mixed:go"]);
  });
});
