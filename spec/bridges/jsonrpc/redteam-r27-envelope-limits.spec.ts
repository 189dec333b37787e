// Red team r27: a local bus takes identifiers of any length and messages of any number of hops, but the far
// side of a link refuses an envelope whose identifier is over 1,024 characters, or that has more than 64
// hops. A PeerLink sent them anyway: the far side's refusal came back naming no message, so a request with
// such an identifier waited out its whole timeout (for ever with Infinity) though its only link knew it was
// not taken. Now the link refuses them before sending (UnsendableMessageError, as for NaN in args): the
// request rejects at once, and the error names the message.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ENVELOPE_LIMITS } from "../../../bridges/envelope.js";
import { UnsendableMessageError } from "../../../bridges/errors.js";
import { type BridgeServer, PeerLink, serve } from "../../../bridges/jsonrpc/index.js";
import { Bus } from "../../../lib/bus.js";
import type { BerryError } from "../../../lib/errors.js";
import { createMessage } from "../../../lib/message.js";
import { within } from "../../../lib/request.js";
import { waitFor } from "../../helpers/wait-for.js";

describe("envelope limits checked before a PeerLink sends (HTTP, 127.0.0.1)", () => {
  const a = new Bus({ id: "r27la" });
  const b = new Bus({ id: "r27lb" });
  const long = `${"n".repeat(ENVELOPE_LIMITS.identifierLength)}:x`;
  const errors: BerryError[] = [];
  const got: string[] = [];
  let sa: BridgeServer;
  let sb: BridgeServer;
  let link: PeerLink;
  before(async () => {
    b.follow(long, () => 42);
    b.follow("ok:*", (m) => void got.push(m.id));
    b.on("error", () => {});
    sa = await serve({ bus: a });
    sb = await serve({ bus: b });
    link = await PeerLink.connect(sb.url, { bus: a, server: sa });
    link.on("error", (error) => void errors.push(error));
  });
  after(async () => {
    await link.close();
    await sa.close();
    await sb.close();
  });

  it("a request whose identifier is over the limit rejects at once, and the link goes on", async () => {
    const started = performance.now();
    await assert.rejects(a.ask(long, 1, within({ timeout: 4_000 })), UnsendableMessageError);
    assert.ok(performance.now() - started < 2_000, "rejected at once, not at its timeout");
    assert.equal(link.stats.sent, 0);
    assert.equal(link.stats.dropped, 1);
    a.twitter("ok:after");
    await waitFor(() => got.includes("ok:after"), "the next message delivered");
  });

  it("a message over the identifier limit is reported naming it", async () => {
    errors.length = 0;
    a.twitter(`${"m".repeat(ENVELOPE_LIMITS.identifierLength + 1)}:y`);
    await waitFor(() => errors.length > 0, "an error");
    assert.ok(errors[0] instanceof UnsendableMessageError, `${errors[0]?.name}: ${errors[0]?.message.slice(0, 120)}`);
    assert.match(errors[0].message, /mmmm.*not sent: invalid envelope: id/);
  });

  it("a message past the hop limit is reported by the link that would send it, naming it", async () => {
    errors.length = 0;
    const hops = Array.from({ length: ENVELOPE_LIMITS.hops }, (_, i) => `far${i}`);
    // 64 hops on arrival; this bus makes it 65, one more than the far side takes.
    a.inject(createMessage({ identifier: "ok:far", messageId: "far0/1", hops }));
    await waitFor(() => errors.length > 0, "an error");
    assert.ok(errors[0] instanceof UnsendableMessageError, `${errors[0]?.name}: ${errors[0]?.message.slice(0, 120)}`);
    assert.match(errors[0].message, /"ok:far" \(far0\/1\) not sent: .*hop limit/);
    assert.ok(!got.includes("ok:far"));
  });
});

describe("a talk() whose callback identifier is over the limit (HTTP, 127.0.0.1)", () => {
  it("is reported by the link as unsendable rather than refused by the far side", async () => {
    const a = new Bus({ id: "r27ta" });
    const b = new Bus({ id: "r27tb" });
    b.on("error", () => {});
    const sa = await serve({ bus: a });
    const sb = await serve({ bus: b });
    const link = await PeerLink.connect(sb.url, { bus: a, server: sa });
    const errors: BerryError[] = [];
    link.on("error", (error) => void errors.push(error));
    try {
      void a.talk("calc:add", `${"c".repeat(ENVELOPE_LIMITS.identifierLength)}:result`, 1, 2).catch(() => undefined);
      await waitFor(() => errors.length > 0, "an error");
      assert.ok(errors[0] instanceof UnsendableMessageError, `${errors[0]?.name}: ${errors[0]?.message.slice(0, 120)}`);
      assert.match(errors[0].message, /"calc:add" .* not sent: invalid envelope: replyTo/);
    } finally {
      await link.close();
      await sa.close();
      await sb.close();
    }
  });
});
