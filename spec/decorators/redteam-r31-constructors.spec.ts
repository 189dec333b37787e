// Red team r31, compiled by tsc in both decorator modes like decorators.spec.ts: `@Follower` on a class
// whose constructor is private (a singleton or a factory's class) or protected (a base class made to be
// extended) did not compile in either mode ("Unable to resolve signature of class decorator"): its type
// wanted a public construct signature, which such a class does not show.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, Follower, following, type Message } from "../../lib/index.js";

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
});
