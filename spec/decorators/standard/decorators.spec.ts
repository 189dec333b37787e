// Compiled by tsc with standard (TC39) decorators (spec/decorators/tsconfig.standard.json).
import { describe } from "node:test";
import { autoTwitter, Bus, Follower, following, type Message } from "../../../lib/index.js";
import { type DecoratedClasses, decoratorCases } from "../decorator-cases.js";

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
    @following("bare-decorator-standard:*")
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

describe("decorators, standard (TC39) mode", () => {
  decoratorCases("standard", make);

});
