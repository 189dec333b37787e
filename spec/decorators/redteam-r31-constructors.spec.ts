// Red team r31, compiled by tsc in both decorator modes like decorators.spec.ts: `@Follower` on a class
// whose constructor is private (a singleton or a factory's class) or protected (a base class made to be
// extended) did not compile in either mode ("Unable to resolve signature of class decorator"): its type
// wanted a public construct signature, which such a class does not show.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, Follower, following, InvalidArgumentError, type Message } from "../../lib/index.js";

const mode = import.meta.url.includes("/.build/legacy/") ? "legacy" : "standard";
const bus = new Bus();
const got: string[] = [];

@Follower({ bus })
class Clock {
  private constructor(readonly zone: string) {}

  static create(zone: string): Clock {
    return new Clock(zone);
  }

  @following("clock:tick")
  tick(message: Message): void {
    got.push(`${this.zone} ${message.id}`);
  }
}

@Follower({ bus })
abstract class Service {
  protected constructor(readonly name: string) {}

  @following("service:stop")
  stop(_message: Message): void {
    got.push(`${this.name} stops`);
  }
}

class Mailer extends Service {
  constructor() {
    super("mailer");
  }
}

@Follower
class Hidden {
  protected constructor() {}
}

describe(`r31 @Follower on classes with a private or protected constructor (${mode} decorators)`, () => {
  it("they compile, and their instances register", () => {
    const clock = Clock.create("UTC");
    const mailer = new Mailer();
    assert.equal(bus.twitter("clock:tick"), 1);
    assert.equal(bus.twitter("service:stop"), 1);
    assert.deepEqual(got, ["UTC clock:tick", "mailer stops"]);
    assert.ok(clock instanceof Clock && mailer instanceof Service);
    assert.equal(typeof Hidden, "function");
    bus.close();
  });

  it("still only classes: on a method or a field it does not compile, and throws naming the member", () => {
    const named = (name: string) => (error: unknown) =>
      error instanceof InvalidArgumentError && error.argument === "@Follower target" && error.message.includes(name);
    // Each threw a TypeError ("Class extends value ... is not a constructor") naming no member; bare on a
    // legacy method, it took the prototype for options and silently did nothing.
    assert.throws(() => {
      class OnMethod {
        // @ts-expect-error @Follower takes a class
        @Follower({ bus: new Bus() })
        handle(): void {}
      }
      void OnMethod;
    }, named("handle"));
    assert.throws(() => {
      class BareOnMethod {
        // @ts-expect-error @Follower takes a class
        @Follower
        handle(): void {}
      }
      void BareOnMethod;
    }, named("handle"));
    assert.throws(() => {
      // biome-ignore lint/complexity/noStaticOnlyClass: a static field is what is tested
      class OnField {
        // @ts-expect-error @Follower takes a class
        @Follower
        static field = 1;
      }
      void OnField;
    }, named("field"));
  });
});
