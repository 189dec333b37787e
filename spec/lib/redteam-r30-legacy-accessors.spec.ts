// Red team r30: with experimentalDecorators, `@following` and `@exposed` on a setter or a field were
// accepted (standard decorators refuse them when the class is defined). Every message then failed on the
// member ("method G.s: expected a function", reported on the bus's `error` event). A getter stays taken:
// it is what a legacy method decorator such as `@autobind` leaves of a method below it, its value the
// bound method (refusing it, as a first r30 fix did, broke `@following("a:b") @autobind handle()`).
// The decorators are called here exactly as TypeScript's legacy `__decorate` calls them: (prototype or
// class, key, the member's own descriptor), and `undefined` as the descriptor of a field.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, exposed, following, InvalidArgumentError, type Message, within } from "../../lib/index.js";

type LegacyDecorator = (target: object, key: string | symbol, descriptor?: PropertyDescriptor) => void;

function decorateMember(decorator: unknown, target: object, key: string | symbol): void {
  (decorator as LegacyDecorator)(target, key, Object.getOwnPropertyDescriptor(target, key));
}

function decorateField(decorator: unknown, target: object, key: string | symbol): void {
  (decorator as LegacyDecorator)(target, key, undefined);
}

const refused =
  (decorator: string, key: string) =>
  (error: unknown): boolean =>
    error instanceof InvalidArgumentError && error.argument === `${decorator} target` && error.value === key;

describe("legacy decorators refuse what is no method, as standard ones do (r30)", () => {
  it("@following on an instance setter or field is refused when the class is defined; a getter (autobind) is taken", () => {
    const bus = new Bus();
    const reports: unknown[] = [];
    bus.on("error", (error) => reports.push(error));
    class G {
      calls: string[] = [];
      // What @autobind leaves of a method: a getter whose value is the method bound to the instance.
      get g(): (message: Message) => void {
        return (message) => void this.calls.push(message.id);
      }
      set s(_value: unknown) {}
    }
    decorateMember(following("g:x"), G.prototype, "g");
    assert.throws(() => decorateMember(following("s:x"), G.prototype, "s"), refused("@following", "s"));
    assert.throws(() => decorateField(following("f:x"), G.prototype, "f"), refused("@following", "f"));
    const instance = new G();
    bus.register(instance);
    assert.equal(bus.twitter("g:x"), 1);
    assert.deepEqual(instance.calls, ["g:x"]);
    assert.equal(bus.twitter("s:x"), 0);
    assert.deepEqual(reports, []);
    bus.close();
  });

  it("@following on a static setter is refused, and the class is not registered", () => {
    const bus = new Bus();
    // biome-ignore lint/complexity/noStaticOnlyClass: a static setter is what is tested
    class S {
      static set h(_value: unknown) {}
    }
    assert.throws(() => decorateMember(following("h:x", { bus }), S, "h"), refused("@following", "h"));
    assert.equal(bus.size, 0);
    assert.equal(bus.twitter("h:x"), 0);
    bus.close();
  });

  it("@exposed on a setter is refused; methods are still taken in both shapes", async () => {
    const bus = new Bus();
    class E {
      set value(_value: number) {}
      double(x: number): number {
        return x * 2;
      }
      on(message: Message): string {
        return `on ${message.id}`;
      }
    }
    assert.throws(() => decorateMember(exposed("e:value"), E.prototype, "value"), refused("@exposed", "value"));
    decorateMember(exposed("e:double"), E.prototype, "double");
    decorateMember(following("e:on"), E.prototype, "on");
    const instance = new E();
    bus.register(instance);
    assert.equal(await bus.ask("e:double", 4), 8);
    assert.deepEqual(await bus.talk("e:on", "e:answer"), ["on e:on"]);
    await assert.rejects(bus.ask("e:value", within({ timeout: 20 })), { name: "RequestTimeoutError" });
    bus.close();
  });
});
