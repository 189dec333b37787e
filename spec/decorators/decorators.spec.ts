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
  /** Base `@Follower({ bus })` with `@following("inh-base:*")`; subclass NOT decorated adds `@following("inh-own:*")`. */
  PlainChild: new () => LoggerLike;
  /** Like PlainChild, but the subclass is `@Follower({ bus })` too. */
  FollowerChild: new () => LoggerLike;
  /** Subclass overriding the base's followed `onBase` (`inh-base:*`) without re-decorating it. */
  Overriding: new () => LoggerLike;
  /** Subclass overriding `onBase` and decorating the override with the same pattern again. */
  Redecorated: new () => LoggerLike;
  /** Three levels: `@Follower` top (`lvl1:*`), plain middle (`lvl2:*`), plain bottom (`lvl3:*`). */
  Level3: new () => LoggerLike;
  /** `@Follower({ bus })` base with no followers; subclass with `@following("late:*")`. */
  LateChild: new () => LoggerLike;
  /** The base alone (no followers): constructing it registers nothing and does not throw. */
  EmptyBase: new () => object;
  /** A `@Follower({ bus })` subclass whose field `ready` is set by its constructor; counts registrations. */
  Built: new () => LoggerLike & { ready: boolean };
  /** Static followers `static:*` and `static2:*` on `bus`, plain class; `this` recorded. */
  Static: { seen: unknown[]; log: string[] };
  /** Static follower `wrapped-static:*` in a `@Follower({ bus })` class. */
  WrappedStatic: { log: string[] };
  /** What `bus.register` received, and whether `ready` was set at that moment. */
  registrations: { target: object; ready: unknown }[];
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

  it(`[${mode}] @autoTwitter on a method sends entry and exit (exit: the arguments, kwargs.result)`, () => {
    const { bus, Timed } = make();
    const got: Message[] = [];
    bus.follow("timed:*", (m) => void got.push(m));
    assert.equal(new Timed().run(4), 8);
    assert.deepEqual(got.map((m) => [m.id, m.args, m.kwargs]), [["timed:entry", [4], {}], ["timed:exit", [4], { result: 8 }]]);
  });

  it(`[${mode}] bare @Follower registers on the default bus`, () => {
    const { Bare } = make();
    const bare = new Bare();
    assert.equal(defaultBus.twitter(`bare-decorator-${mode}:go`), 1);
    assert.deepEqual(bare.lines, [`bare-decorator-${mode}:go`]);
    defaultBus.unregister(bare);
  });

  it(`[${mode}] a subclass without its own @Follower receives its own @following methods too`, () => {
    const { bus, PlainChild } = make();
    const child = new PlainChild();
    assert.equal(bus.twitter("inh-base:x"), 1);
    assert.equal(bus.twitter("inh-own:y"), 1);
    assert.deepEqual(child.lines, ["base inh-base:x", "own inh-own:y"]);
  });

  it(`[${mode}] a @Follower subclass of a @Follower base: each follower once`, () => {
    const { bus, FollowerChild } = make();
    const child = new FollowerChild();
    assert.equal(bus.twitter("inh-base:x"), 1);
    assert.equal(bus.twitter("inh-own:y"), 1);
    assert.deepEqual(child.lines, ["base inh-base:x", "own inh-own:y"]);
  });

  it(`[${mode}] an override of a followed method runs instead of the base method, once`, () => {
    const { bus, Overriding, Redecorated } = make();
    const overriding = new Overriding();
    const redecorated = new Redecorated();
    assert.equal(bus.twitter("inh-base:x"), 2);
    assert.deepEqual(overriding.lines, ["override inh-base:x"]);
    assert.deepEqual(redecorated.lines, ["redecorated inh-base:x"]);
  });

  it(`[${mode}] three levels of inheritance all follow`, () => {
    const { bus, Level3 } = make();
    const bottom = new Level3();
    for (const id of ["lvl1:a", "lvl2:b", "lvl3:c"]) assert.equal(bus.twitter(id), 1, id);
    assert.deepEqual(bottom.lines, ["1 lvl1:a", "2 lvl2:b", "3 lvl3:c"]);
  });

  it(`[${mode}] a @Follower base with no followers and a subclass with some`, () => {
    const { bus, LateChild, EmptyBase } = make();
    new EmptyBase();
    const child = new LateChild();
    assert.equal(bus.twitter("late:go"), 1);
    assert.deepEqual(child.lines, ["late late:go"]);
  });

  it(`[${mode}] registration happens once, after the whole instance is built`, () => {
    const { bus, Built, registrations } = make();
    const built = new Built();
    assert.deepEqual(registrations, [{ target: built, ready: true }]);
    assert.equal(bus.twitter("built:x"), 1);
    assert.deepEqual(built.lines, ["ready built:x"]);
  });

  it(`[${mode}] static @following methods follow from class definition, this = the class; unregister(Class) stops them`, () => {
    const { bus, Static, WrappedStatic } = make();
    assert.equal(bus.twitter("static:a", 1), 1);
    assert.equal(bus.twitter("static2:b", 2), 1);
    assert.deepEqual(Static.log, ["static:a", "static2:b"]);
    assert.deepEqual(Static.seen, [Static, Static], "this is the class");
    assert.equal(bus.unregister(Static), true);
    assert.equal(bus.twitter("static:a"), 0);
    assert.equal(bus.twitter("wrapped-static:c"), 1);
    assert.deepEqual(WrappedStatic.log, ["wrapped-static:c"]);
    assert.equal(bus.unregister(WrappedStatic), true, "the @Follower class itself unregisters its statics");
    assert.equal(bus.twitter("wrapped-static:c"), 0);
  });

  it(`[${mode}] a bus option on an instance method's @following is refused`, () => {
    assert.throws(() => {
      class Wrong {
        @following("x:y", { bus: new Bus() })
        on(_m: Message): void {}
      }
      void Wrong;
    }, /instances register on their @Follower's bus/);
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

  @Follower({ bus })
  class InhBase {
    lines: string[] = [];
    @following("inh-base:*")
    onBase(message: Message): void {
      this.lines.push(`base ${message.id}`);
    }
  }
  class PlainChild extends InhBase {
    @following("inh-own:*")
    onOwn(message: Message): void {
      this.lines.push(`own ${message.id}`);
    }
  }
  @Follower({ bus })
  class FollowerChild extends InhBase {
    @following("inh-own:*")
    onOwn(message: Message): void {
      this.lines.push(`own ${message.id}`);
    }
  }
  class Overriding extends InhBase {
    override onBase(message: Message): void {
      this.lines.push(`override ${message.id}`);
    }
  }
  class Redecorated extends InhBase {
    @following("inh-base:*")
    override onBase(message: Message): void {
      this.lines.push(`redecorated ${message.id}`);
    }
  }

  @Follower({ bus })
  class Level1 {
    lines: string[] = [];
    @following("lvl1:*")
    one(message: Message): void {
      this.lines.push(`1 ${message.id}`);
    }
  }
  class Level2 extends Level1 {
    @following("lvl2:*")
    two(message: Message): void {
      this.lines.push(`2 ${message.id}`);
    }
  }
  class Level3 extends Level2 {
    @following("lvl3:*")
    three(message: Message): void {
      this.lines.push(`3 ${message.id}`);
    }
  }

  @Follower({ bus })
  class EmptyBase {
    lines: string[] = [];
  }
  class LateChild extends EmptyBase {
    @following("late:*")
    late(message: Message): void {
      this.lines.push(`late ${message.id}`);
    }
  }

  const registrations: { target: object; ready: unknown }[] = [];
  const register = bus.register.bind(bus);
  let BuiltBase: abstract new () => object;
  bus.register = (target: object) => {
    if (target instanceof BuiltBase) registrations.push({ target, ready: (target as { ready?: unknown }).ready });
    return register(target);
  };
  @Follower({ bus })
  class BuiltRoot {
    lines: string[] = [];
  }
  BuiltBase = BuiltRoot;
  @Follower({ bus })
  class Built extends BuiltRoot {
    ready = false;
    constructor() {
      super();
      this.ready = true;
    }
    @following("built:*")
    on(message: Message): void {
      this.lines.push(`${this.ready ? "ready" : "not ready"} ${message.id}`);
    }
  }

  // biome-ignore lint/complexity/noStaticOnlyClass: static followers are what is tested
  class Static {
    static seen: unknown[] = [];
    static log: string[] = [];
    @following("static:*", { bus })
    static on(message: Message): void {
      // biome-ignore lint/complexity/noThisInStatic: `this` being the class is what is tested
      Static.seen.push(this);
      Static.log.push(message.id);
    }
    @following("static2:*", { bus })
    static other(message: Message): void {
      // biome-ignore lint/complexity/noThisInStatic: `this` being the class is what is tested
      Static.seen.push(this);
      Static.log.push(message.id);
    }
  }

  @Follower({ bus })
  class WrappedStatic {
    static log: string[] = [];
    @following("wrapped-static:*", { bus })
    static on(message: Message): void {
      WrappedStatic.log.push(message.id);
    }
  }

  return {
    bus,
    Logger,
    Guarded,
    Child,
    Timed,
    Bare,
    PlainChild,
    FollowerChild,
    Overriding,
    Redecorated,
    Level3,
    LateChild,
    EmptyBase,
    Built,
    Static,
    WrappedStatic,
    registrations,
  };
}

describe(`decorators, ${mode === "legacy" ? "experimentalDecorators" : "standard (TC39)"} mode`, () => {
  decoratorCases(make);

  it(`[${mode}] stores @following declarations ${mode === "legacy" ? "as reflect-metadata on the prototype" : "in the class's decorator metadata"}`, () => {
    class Probe {
      @following("probe:*")
      on(): void {}
    }
    const specs = Reflect.getOwnMetadata("berrymq:following", Probe.prototype) as { pattern: { id: string } }[] | undefined;
    const metadata = (Probe as unknown as Record<symbol, unknown>)[Symbol.for("Symbol.metadata")];
    if (mode === "legacy") {
      assert.deepEqual(specs?.map((s) => s.pattern.id), ["probe:*"]);
      assert.equal(metadata, undefined);
    } else {
      assert.equal(specs, undefined);
      assert.equal(typeof metadata, "object");
    }
  });
});
