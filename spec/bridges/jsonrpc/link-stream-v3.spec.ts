// Version 3 of link streams (Upgrade: berrymq-link/3): version 2's frames with the envelopes of batches in
// the compact form (bridges/compact-envelope.ts), negotiated in the upgrade: a server from before version 3
// answers berrymq-link/2 and the link keeps the named form.
import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import { afterEach, describe, it } from "node:test";
import { compactEnvelopesJson, toCompactEnvelope } from "../../../bridges/compact-envelope.js";
import { type Envelope, toEnvelope } from "../../../bridges/envelope.js";
import { PeerLink, serve } from "../../../bridges/jsonrpc/index.js";
import { STREAM_PROTOCOL_2, STREAM_PROTOCOL_3, type WireError } from "../../../bridges/jsonrpc/link-stream.js";
import { Bus } from "../../../lib/bus.js";
import { createMessage, type Message } from "../../../lib/message.js";
import { socketPair, specStream } from "../../helpers/socket-pair.js";
import { waitFor } from "../../helpers/wait-for.js";

const toClose: { destroy(): void }[] = [];
afterEach(() => {
  for (const thing of toClose.splice(0)) thing.destroy();
});

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

function envelope(overrides: Partial<Envelope>): Envelope {
  return {
    v: 1,
    id: "calc:add",
    args: [1, 2],
    kwargs: {},
    messageId: "ask/1",
    timestamp: 1_796_579_361_008,
    hops: ["ask"],
    ...overrides,
  };
}

describe("compactEnvelopesJson", () => {
  it("writes what JSON.stringify writes of toCompactEnvelope, for every shape of envelope", () => {
    const frozenHops = Object.freeze(["ask"]) as string[];
    const cases: Envelope[] = [
      envelope({}),
      envelope({ hops: frozenHops, replyTo: "berrymq-reply:ask" }),
      envelope({ id: "berrymq-reply:ask", args: [3], messageId: "answer/9", hops: ["answer"], inReplyTo: "ask/1", to: "ask" }),
      envelope({ inReplyTo: "ask/1" }),
      envelope({ to: "far" }),
      envelope({ replyTo: "app:done", to: "far" }),
      envelope({ hops: ["ask", "relay"], replyTo: "berrymq-reply:ask" }),
      envelope({ hops: ["relay"] }),
      envelope({ hops: ["other"], messageId: "ask/2", replyTo: "x:y" }),
      envelope({ messageId: "no-slash", hops: ["no-slash"] }),
      envelope({ messageId: "a/b/3", hops: ["a/b"] }),
      envelope({ kwargs: { deep: { list: [1, "two", null] } }, args: ["é ✓ \n \u2028", -0, 1e21, 0.1] }),
      envelope({ timestamp: 0.5 }),
      envelope({ timestamp: 12 }),
      envelope({ args: [{ toJSON: () => "when" }] }),
      // A toJSON of args itself: JSON.stringify writes the envelope as it alone can.
      envelope({ args: Object.assign([1], { toJSON: () => ["replaced"] }) }),
    ];
    for (const e of cases) {
      assert.equal(compactEnvelopesJson([e]), JSON.stringify([toCompactEnvelope(e)]), JSON.stringify(e));
      assert.equal(compactEnvelopesJson([e, e]), JSON.stringify([toCompactEnvelope(e), toCompactEnvelope(e)]));
    }
    assert.equal(compactEnvelopesJson(cases), JSON.stringify(cases.map(toCompactEnvelope)));
    assert.equal(compactEnvelopesJson([]), "[]");
  });

  it("writes args of numbers only as JSON.stringify does (its own writer), and any other args through it", () => {
    const argsCases: unknown[][] = [
      [],
      [0],
      [-0],
      [5, 1],
      [-1.5e-7, 0.1, 1e21, 1e-7, 5e-324, Number.MAX_VALUE, 2 ** 53 + 2, 123456789012],
      [Number.NaN, 1],
      [1, Number.POSITIVE_INFINITY],
      [Number.NEGATIVE_INFINITY],
      [1, "2"],
      [1, null],
      [1, [2]],
      // A hole reads as undefined: JSON.stringify writes null.
      Object.assign(new Array<unknown>(3), { 0: 1, 2: 3 }),
      Object.freeze([7, 8]) as unknown[],
    ];
    for (const args of argsCases) {
      for (const e of [envelope({ args }), envelope({ args, hops: ["ask"], replyTo: "berrymq-reply:ask" })]) {
        assert.equal(compactEnvelopesJson([e]), JSON.stringify([toCompactEnvelope(e)]), String(args));
      }
    }
  });

  it("writes messageIds and inReplyTo as JSON.stringify does, whatever characters they hold", () => {
    const ids = [
      "ask/1",
      "ask-peer/1234567890AbCd_-Ef",
      "a b~!#$%&'()*+,-./:;<=>?@[]^`{|}/7",
      'quote"d/1',
      "back\\slash/1",
      "tab\there/1",
      "nul\u0000/1",
      "del\u007f/1",
      "é/1",
      "line\u2028sep/1",
      "lone\ud800/1",
      "pair\ud83d\ude00/1",
      "",
    ];
    for (const id of ids) {
      const cases = [
        envelope({ messageId: id, hops: ["elsewhere"] }),
        envelope({ id: "berrymq-reply:ask", args: [3], messageId: "answer/9", hops: ["answer"], inReplyTo: id, to: "ask" }),
        envelope({ messageId: id, hops: ["elsewhere"], replyTo: "x:y", inReplyTo: id }),
      ];
      for (const e of cases) assert.equal(compactEnvelopesJson([e]), JSON.stringify([toCompactEnvelope(e)]), JSON.stringify(id));
    }
  });

  it("writes a bus's own messages with their hops implied, and a message's text as toEnvelope gives it", () => {
    const message = createMessage({
      identifier: "calc:add",
      args: [5, 1],
      messageId: "ask-peer/42",
      hops: ["ask-peer"],
      replyTo: "berrymq-reply:ask-peer",
    });
    assert.equal(
      compactEnvelopesJson([toEnvelope(message)]),
      `[["calc:add",[5,1],{},"ask-peer/42",${message.timestamp},0,"berrymq-reply:ask-peer"]]`,
    );
  });
});

describe("LinkStream, version 3 (compact envelopes)", () => {
  it("hands take the envelope objects of a batch's compact envelopes; an envelope object is taken as it is", async () => {
    const [mine, theirs] = await socketPair(toClose);
    const taken: unknown[] = [];
    specStream(mine, {
      version: 3,
      take: (envelopes) => (start, end) => {
        taken.push(...envelopes.slice(start, end));
        return envelopes.slice(start, end).map(() => 1);
      },
    });
    const named = envelope({ messageId: "ask/7" });
    theirs.write(
      `{"b":1,"e":[["calc:add",[1,2],{},"ask/5",7],["calc:add",[1],{},"ask/6",8,["x","ask"],"r:s",0,"far"],${JSON.stringify(named)}]}\n`,
    );
    const [ack] = (await once(theirs, "data")) as [Buffer];
    assert.equal(ack.toString(), '{"a":1}\n');
    assert.deepEqual(taken, [
      {
        v: 1,
        id: "calc:add",
        args: [1, 2],
        kwargs: {},
        messageId: "ask/5",
        timestamp: 7,
        hops: ["ask"],
        replyTo: undefined,
        inReplyTo: undefined,
        to: undefined,
      },
      {
        v: 1,
        id: "calc:add",
        args: [1],
        kwargs: {},
        messageId: "ask/6",
        timestamp: 8,
        hops: ["x", "ask"],
        replyTo: "r:s",
        inReplyTo: undefined,
        to: "far",
      },
      named,
    ]);
  });

  it("a compact envelope the decoder refuses comes back in `r` with the decoder's error; the others are delivered", async () => {
    const [mine, theirs] = await socketPair(toClose);
    const taken: unknown[] = [];
    specStream(mine, {
      version: 3,
      // As the bridge server's deliverer: an envelope it cannot take is an error in its result.
      take: (envelopes) => (start, end) =>
        envelopes.slice(start, end).map((e) => {
          if (Array.isArray(e)) return { error: { code: -32602, message: "not an envelope object" } };
          taken.push((e as { messageId: string }).messageId);
          return 1;
        }),
    });
    theirs.write(
      '{"b":1,"e":[["a:b",[],{},"x/1",1],["a:b",[],{}],["a:b",[],{},"x/2",1,0,null],["a:b",[],{},"noslash",1],["a:b",[],{},"x/3",1]]}\n',
    );
    const [frame] = (await once(theirs, "data")) as [Buffer];
    const ack = JSON.parse(frame.toString()) as { a: number; r: [number, number, WireError][] };
    assert.equal(ack.a, 1);
    assert.deepEqual(
      ack.r.map(([batch, index, error]) => [batch, index, error.code, error.message]),
      [
        [1, 1, -32602, 'invalid envelope: envelope "(an array of 3)": expected a compact envelope array of 5 to 9 entries'],
        [1, 2, -32602, "invalid envelope: replyTo null: expected a string, or 0 for none"],
        [
          1,
          3,
          -32602,
          'invalid envelope: hops "(left out)": expected the hops, or a messageId "<origin bus id>/<n>" naming them',
        ],
      ],
    );
    assert.deepEqual(taken, ["x/1", "x/3"]);
  });
});

// A TCP proxy in front of a bridge server that records every byte both ways; `offer` rewrites the Upgrade
// header of requests (as a server that knows fewer versions would read it).
async function recordingProxy(target: number, offer?: (header: string) => string) {
  // Each connection's bytes, one way and the other.
  const connections: { up: string; down: string }[] = [];
  const sockets = new Set<Socket>();
  const proxy = createServer((client) => {
    sockets.add(client);
    client.on("error", () => {});
    const upstream = connect(target, "127.0.0.1");
    sockets.add(upstream);
    upstream.on("error", () => {});
    const wire = { up: "", down: "" };
    connections.push(wire);
    client.on("data", (chunk: Buffer) => {
      let text = chunk.toString();
      if (offer !== undefined) text = text.replace(/^upgrade:\s*(.*)$/im, (_line, header: string) => `upgrade: ${offer(header)}`);
      wire.up += text;
      upstream.write(text);
    });
    upstream.on("data", (chunk: Buffer) => {
      wire.down += chunk.toString();
      client.write(chunk);
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  proxy.listen(0, "127.0.0.1");
  await once(proxy, "listening");
  return {
    url: `http://127.0.0.1:${(proxy.address() as { port: number }).port}/`,
    // The envelopes of every batch frame that went through, both ways.
    // The envelopes of every batch frame on the upgraded connections (after their HTTP heads), both ways.
    batchEnvelopes(): unknown[] {
      const found: unknown[] = [];
      for (const { up, down } of connections) {
        if (!down.startsWith("HTTP/1.1 101")) continue;
        for (const text of [up, down]) {
          for (const line of text.slice(text.indexOf("\r\n\r\n") + 4).split("\n")) {
            if (line === "") continue;
            const frame = JSON.parse(line) as { e?: unknown[] };
            if (frame.e !== undefined) found.push(...frame.e);
          }
        }
      }
      return found;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}

// Bus c linked to bus a, and a to b through `proxy` in front of b's server: messages, answers and messages
// relayed from c (hops [c, a]) both ways; returns what reached b and a and the link a → b.
async function chain(id: string, offer?: (header: string) => string) {
  const [a, b, c] = [new Bus({ id: `${id}-a` }), new Bus({ id: `${id}-b` }), new Bus({ id: `${id}-c` })];
  const [serverA, serverB, serverC] = await Promise.all([serve({ bus: a }), serve({ bus: b }), serve({ bus: c })]);
  const proxy = await recordingProxy(serverB.port, offer);
  const atB: Message[] = [];
  const atA: number[] = [];
  b.follow("seq:*", (m: Message) => void atB.push(m));
  a.follow("back:ba", (m: Message) => void atA.push(m.args[0] as number));
  b.follow("calc:add", (m: Message) => (m.args[0] as number) + (m.args[1] as number));
  const link = await PeerLink.connect(proxy.url, { bus: a, server: serverA });
  const fromC = await PeerLink.connect(serverA.url, { bus: c, server: serverC });
  toClose.push({
    destroy: () =>
      void Promise.all([link.close(), fromC.close()]).then(() =>
        Promise.all([proxy.close(), serverA.close(), serverB.close(), serverC.close()]),
      ),
  });
  await waitFor(() => link.streaming && fromC.streaming, "the streams are open");
  for (const i of range(300)) {
    a.twitter("seq:ab", i);
    c.twitter("seq:cb", i);
    b.twitter("back:ba", i);
  }
  const answers = await Promise.all(range(200).map((i) => a.ask<number>("calc:add", i, 1)));
  assert.deepEqual(
    answers,
    range(200).map((i) => i + 1),
  );
  assert.equal(await c.ask("calc:add", 20, 22), 42);
  await waitFor(() => atB.length === 600 && atA.length === 300, "300 messages each way and 300 relayed");
  const ab = atB.filter((m) => m.id === "seq:ab");
  const cb = atB.filter((m) => m.id === "seq:cb");
  assert.deepEqual(
    ab.map((m) => m.args[0]),
    range(300),
  );
  assert.deepEqual(
    cb.map((m) => m.args[0]),
    range(300),
  );
  assert.deepEqual(ab[0]?.hops, [a.id, b.id]);
  assert.deepEqual(cb[0]?.hops, [c.id, a.id, b.id]);
  assert.deepEqual(atA, range(300));
  return { link, proxy };
}

describe("PeerLink streams, version 3", () => {
  it("berrymq peers stream version 3: every batch's envelopes compact on the wire, hops implied or written in full", async () => {
    const { link, proxy } = await chain("v3-chain");
    assert.equal(link.streamVersion, 3);
    const envelopes = proxy.batchEnvelopes();
    assert.ok(envelopes.length >= 900, `${envelopes.length} envelopes seen`);
    assert.ok(
      envelopes.every((e) => Array.isArray(e)),
      "every envelope compact",
    );
    const relayed = envelopes.filter((e) => (e as unknown[])[0] === "seq:cb");
    assert.ok(
      relayed.length > 0 && relayed.every((e) => Array.isArray((e as unknown[])[5])),
      "relayed envelopes carry their hops",
    );
    const own = envelopes.filter((e) => (e as unknown[])[0] === "seq:ab");
    assert.ok(own.length > 0 && own.every((e) => (e as unknown[]).length === 5), "a bus's own messages imply their hops");
  });

  it("against a server that knows versions 2 and 1 only (berrymq before version 3) the link streams version 2, envelopes named", async () => {
    const offers: string[] = [];
    const { link, proxy } = await chain("v3-to-v2", (header) => {
      offers.push(header);
      return header
        .split(",")
        .map((part) => part.trim())
        .filter((part) => part !== STREAM_PROTOCOL_3)
        .join(", ");
    });
    assert.equal(link.streamVersion, 2);
    assert.ok(offers[0]?.startsWith(`${STREAM_PROTOCOL_3}, ${STREAM_PROTOCOL_2}`), offers[0]);
    const envelopes = proxy.batchEnvelopes();
    assert.ok(envelopes.length >= 900, `${envelopes.length} envelopes seen`);
    assert.ok(
      envelopes.every((e) => !Array.isArray(e) && (e as { v?: unknown }).v === 1),
      "every envelope named",
    );
  });
});
