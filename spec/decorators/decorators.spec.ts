// One source, compiled twice by tsc: with experimentalDecorators (tsconfig.legacy.json → .build/legacy)
// and with standard TC39 decorators (tsconfig.standard.json → .build/standard); npm test runs both outputs.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { autoTwitter, Bus, defaultBus, Follower, following, type Message } from "../../lib/index.js";

/** Which compilation this is, from where the compiled file lives. */
const mode = import.meta.url.includes("/.build/legacy/") ? "legacy" : "standard";

export interface LoggerLike {
  lines: string[];
}
export interface GuardedLike {
  seen: unknown[];
}
export interface TimedLike {
  run(n: number): number;
}

/** The classes a mode's spec declares, on a fresh bus. */
export interface DecoratedClasses {
  bus: Bus;
  /** `@Follower({ bus })`: `@following("*:log")` on `log`; `@following("*:warn")` + `@following("*:error")` on `alert`. */
  Logger: new (prefix: string) => LoggerLike;
  /** `@Follower({ bus })`: `@following("temp:*", { guard: args[0] > 30 })` on `hot`. */
  Guarded: new () => GuardedLike;
  /** `@Follower({ bus })` subclass of a class with `@following("base:*")`; adds `@following("child:*")`. */
  Child: new () => LoggerLike;
  /** A method decorated with `@autoTwitter("timed", { bus })`, returning n * 2. */
  Timed: new () => TimedLike;
  /** Bare `@Follower` (default bus) with `@following("bare-decorator-<mode>:*")`. */
  Bare: new () => LoggerLike;
  /** Declares a class with `@following` on a static method: must throw. */
  declareStatic(): void;
}

function decoratorCases(make: () => DecoratedClasses): void {
  it(`[${mode}] constructing a @Follower registers the instance; methods run with their this`, () => {
    const { bus, Logger } = make();
    const logger = new Logger("L");
    assert.equal(bus.twitter("app:log", "hello"), 1);
    assert.deepEqual(logger.lines, ["L log hello"]);
    const second = new Logger("M");
    assert.equal(bus.twitter("db:log", "x"), 2, "every instance registers");
    assert.deepEqual(second.lines, ["M log x"]);
  });

  it(`[${mode}] several @following on one method`, () => {
    const { bus, Logger } = make();
    const logger = new Logger("L");
    bus.twitter("disk:warn", 1);
    bus.twitter("disk:error", 2);
    bus.twitter("disk:info", 3);
    assert.deepEqual(logger.lines, ["L alert disk:warn", "L alert disk:error"]);
  });

  it(`[${mode}] guard predicates filter per message`, () => {
    const { bus, Guarded } = make();
    const guarded = new Guarded();
    assert.equal(bus.twitter("temp:read", 20), 0);
    assert.equal(bus.twitter("temp:read", 40), 1);
    assert.deepEqual(guarded.seen, [40]);
  });

  it(`[${mode}] a subclass receives its own and its base class's patterns`, () => {
    const { bus, Child } = make();
    const child = new Child();
    bus.twitter("base:x");
    bus.twitter("child:y");
    assert.deepEqual(child.lines, ["base base:x", "child child:y"]);
  });

  it(`[${mode}] unregister stops an instance`, () => {
    const { bus, Logger } = make();
    const logger = new Logger("L");
    assert.equal(bus.unregister(logger), true);
    assert.equal(bus.twitter("app:log"), 0);
  });

  it(`[${mode}] a garbage-collected instance stops receiving`, async () => {
    const { bus, Logger } = make();
    const gc = globalThis.gc;
    assert.ok(gc, "needs node --expose-gc (npm test passes it)");
    (() => void new Logger("dropped"))();
    let reached = bus.twitter("app:log");
    for (let round = 0; round < 20 && reached !== 0; round++) {
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      await new Promise((resolve) => setImmediate(resolve));
      reached = bus.twitter("app:log");
    }
    assert.equal(reached, 0);
  });

  it(`[${mode}] @autoTwitter on a method sends entry and exit`, () => {
    const { bus, Timed } = make();
    const got: Message[] = [];
    bus.follow("timed:*", (m) => void got.push(m));
    assert.equal(new Timed().run(4), 8);
    assert.deepEqual(got.map((m) => [m.id, m.args]), [["timed:entry", [4]], ["timed:exit", [8]]]);
  });

  it(`[${mode}] bare @Follower registers on the default bus`, () => {
    const { Bare } = make();
    const bare = new Bare();
    assert.equal(defaultBus.twitter(`bare-decorator-${mode}:go`), 1);
    assert.deepEqual(bare.lines, [`bare-decorator-${mode}:go`]);
    defaultBus.unregister(bare);
  });

  it(`[${mode}] @following on a static method is refused`, () => {
    const { declareStatic } = make();
    assert.throws(declareStatic, /instance method/);
  });
}

function make(): DecoratedClasses {
  const bus = new Bus();

  @Follower({ bus })
  class Logger {
    lines: string[] = [];
    constructor(readonly prefix: string) {}
    @following("*:log")
    log(message: Message): void {
      this.lines.push(`${this.prefix} log ${String(message.args[0])}`);
    }
    @following("*:warn")
    @following("*:error")
    alert(message: Message): void {
      this.lines.push(`${this.prefix} alert ${message.id}`);
    }
  }

  @Follower({ bus })
  class Guarded {
    seen: unknown[] = [];
    @following("temp:*", { guard: (m) => (m.args[0] as number) > 30 })
    hot(message: Message): void {
      this.seen.push(message.args[0]);
    }
  }

  class Base {
    lines: string[] = [];
    @following("base:*")
    onBase(message: Message): void {
      this.lines.push(`base ${message.id}`);
    }
  }
  @Follower({ bus })
  class Child extends Base {
    @following("child:*")
    onChild(message: Message): void {
      this.lines.push(`child ${message.id}`);
    }
  }

  class Timed {
    @autoTwitter("timed", { bus })
    run(n: number): number {
      return n * 2;
    }
  }

  @Follower
  class Bare {
    lines: string[] = [];
    @following(`bare-decorator-${mode}:*`)
    on(message: Message): void {
      this.lines.push(message.id);
    }
  }

  const declareStatic = (): void => {
    class Static {
      @following("x:y")
      static on(): void {}
    }
    void Static;
  };

  return { bus, Logger, Guarded, Child, Timed, Bare, declareStatic };
}

describe(`decorators, ${mode === "legacy" ? "experimentalDecorators" : "standard (TC39)"} mode`, () => {
  decoratorCases(make);

  it(`[${mode}] stores @following declarations ${mode === "legacy" ? "as reflect-metadata on the prototype" : "per instance, not as prototype metadata"}`, () => {
    class Probe {
      @following("probe:*")
      on(): void {}
    }
    const specs = Reflect.getOwnMetadata("berrymq:following", Probe.prototype) as { pattern: { id: string } }[] | undefined;
    if (mode === "legacy") assert.deepEqual(specs?.map((s) => s.pattern.id), ["probe:*"]);
    else assert.equal(specs, undefined);
  });
});
