// Red team r32 (core): `@exposed` on a private method (`#secret`, standard decorators; experimentalDecorators
// cannot decorate one) was taken: the class was defined, its instances registered, and every request
// answered an error ("invalid method #secret undefined"), the adapter looking up a property named "#secret".
// `@following` refused one already; `@exposed` now does too, when the class is defined, naming the method.
// Compiled by tsx, which applies standard decorators.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, exposed, Follower, InvalidArgumentError } from "../../lib/index.js";

const refused = (name: string) => (error: unknown) =>
  error instanceof InvalidArgumentError && error.argument === "@exposed target" && error.value === name;

describe("red team r32 core: @exposed on a private method", () => {
  it("is refused when the class is defined, and nothing registers", (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    assert.throws(() => {
      @Follower({ bus })
      class Calc {
        @exposed("calc:secret")
        #secret(a: number): number {
          return a * 2;
        }

        use(): number {
          return this.#secret(1);
        }
      }
      new Calc();
    }, refused("#secret"));
    assert.equal(bus.size, 0);
  });

  it("a public method next to a private one is exposed and answers", async (t) => {
    const bus = new Bus();
    t.after(() => bus.close());
    @Follower({ bus })
    class Calc {
      #factor = 2;

      #scale(a: number): number {
        return a * this.#factor;
      }

      @exposed("calc:double")
      double(a: number): number {
        return this.#scale(a);
      }
    }
    const calc = new Calc();
    assert.equal(await bus.ask("calc:double", 21), 42);
    assert.equal(calc.double(1), 2);
  });
});
