// Red team r31, compiled by tsc in both decorator modes like decorators.spec.ts (npm test compiles it
// before running it): each `@ts-expect-error` below must be an error in both modes. With
// experimentalDecorators, `@following` took any method, whatever its parameter: `onTemp(celsius: number)`
// compiled and got the Message object as `celsius` (standard decorators refused it, as types.check.ts says).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, Follower, following, type Message } from "../../lib/index.js";

const mode = import.meta.url.includes("/.build/legacy/") ? "legacy" : "standard";
const bus = new Bus();

@Follower({ bus })
class Thermostat {
  readonly seen: unknown[] = [];

  // @ts-expect-error a follower receives the Message, not the args
  @following("temp:read")
  onTemp(celsius: number): void {
    this.seen.push(celsius);
  }

  // @ts-expect-error a static follower receives the Message too
  @following("temp:read", { bus })
  static onStatic(_label: string): void {}

  // @ts-expect-error a second parameter is never given
  @following("temp:read")
  onTwo(message: Message, factor: number): void {
    this.seen.push(message.args[0], factor);
  }

  @following("temp:*")
  onMessage(message: Message): void {
    this.seen.push(message.id);
  }

  @following("temp:reset")
  onNothing(): void {
    this.seen.length = 0;
  }

  @following("temp:maybe")
  onOptional(message?: Message): void {
    this.seen.push(message?.id);
  }
}

describe(`r31 @following checks its method's parameter (${mode} decorators)`, () => {
  it("methods that take the message, or nothing, follow as before", () => {
    const thermostat = new Thermostat();
    assert.equal(bus.twitter("temp:maybe"), 2);
    assert.deepEqual(thermostat.seen, ["temp:maybe", "temp:maybe"]);
    bus.twitter("temp:reset");
    assert.deepEqual(thermostat.seen, []);
    bus.unregister(thermostat);
  });
});
