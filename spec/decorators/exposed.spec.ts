// `@exposed` with a typed stub, compiled in both decorator modes like decorators.spec.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Bus, exposed, Follower, RemoteError, stub } from "../../lib/index.js";

const mode = import.meta.url.includes("/.build/legacy/") ? "legacy" : "standard";
const bus = new Bus({ id: `exposed-${mode}` });

@Follower({ bus })
class Catalog {
  readonly discount: number;
  constructor(discount: number) {
    this.discount = discount;
  }

  @exposed("product:price")
  price(sku: string, quantity: number): number {
    if (sku === "none") throw new RangeError(`no product ${sku}`);
    return quantity * 10 - this.discount;
  }
}

bus.on("error", () => {}); // the failing call is reported here too

describe(`@exposed and stub() (${mode} decorators)`, () => {
  it("a stub calls the exposed method with the request's args; the method stays callable", async () => {
    const catalog = new Catalog(3);
    const price = stub<[string, number], number>("product:price", { bus, timeout: 2_000 });
    assert.equal(await price("apple", 2), 17);
    assert.equal(catalog.price("pear", 1), 7);
    await assert.rejects(price("none", 1), (e: unknown) => e instanceof RemoteError && e.remoteName === "RangeError");
    bus.unregister(catalog);
  });
});
