// A link whose constructor throws leaves nothing on the bus. The Link base checks its own options before
// it attaches (redteam-r25-bounds-link-ctor); its subclasses checked theirs after super(), so a bad one
// left the half-built link listening to the bus's follow and unfollow events (with
// `importFilters: "followers"`). Every subclass now checks its options before super(), and what only an
// opened client can tell (ZeroMQ's refusal of a host, a replyless socket on TLS) takes back what the base
// attached. The last test lists the subclasses in bridges/, so a new one is added here.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { fileURLToPath } from "node:url";
import { LegacyEchoFilter } from "../../bridges/jsonrpc/legacy-echo-filter.js";
import { LegacyPeerLink } from "../../bridges/jsonrpc/legacy-peer-link.js";
import { PeerLink, type PeerLinkOptions } from "../../bridges/jsonrpc/peer-link.js";
import { SendOnlyClient } from "../../bridges/jsonrpc/send-only-client.js";
import { RedisLink, type RedisLinkOptions } from "../../bridges/redis/redis-link.js";
import { BrokerLink, type BrokerLinkOptions } from "../../bridges/zeromq/broker-link.js";
import { Bus } from "../../lib/bus.js";

const FAR = "http://127.0.0.1:1/";

interface Case {
  /** The class (as `class X extends ...` names it in bridges/). */
  cls: string;
  /** What the error names (the option and its value). */
  names: RegExp;
  build(bus: Bus): unknown;
}

// Without a server: PeerLink's checks of ttl and pingInterval come before the one of server.
const peer = (bus: Bus, bad: Partial<PeerLinkOptions>): PeerLink =>
  new PeerLink(FAR, { bus, importFilters: "followers", ...bad } as PeerLinkOptions);
const redis = (bus: Bus, bad: Partial<RedisLinkOptions> | Record<string, unknown>): RedisLink =>
  new RedisLink({ bus, importFilters: "followers", connection: "redis://127.0.0.1:1", ...bad } as RedisLinkOptions);
const broker = (bus: Bus, bad: Partial<BrokerLinkOptions> | Record<string, unknown>): Promise<BrokerLink> =>
  BrokerLink.connect({ bus, importFilters: "followers", connectTimeout: 200, ...bad } as BrokerLinkOptions);

const CASES: Case[] = [
  { cls: "PeerLink", names: /ttl 0\.0005/, build: (bus) => peer(bus, { ttl: 0.0005 }) },
  { cls: "PeerLink", names: /pingInterval 5000/, build: (bus) => peer(bus, { ttl: 2, pingInterval: 5_000 }) },
  { cls: "PeerLink", names: /server undefined/, build: (bus) => peer(bus, {}) },
  // HttpLink is abstract: its options, through a subclass that adds none.
  {
    cls: "HttpLink",
    names: /timeout -1/,
    build: (bus) => new SendOnlyClient(FAR, { bus, importFilters: "followers", timeout: -1 }),
  },
  {
    cls: "SendOnlyClient",
    names: /ftp:\/\/x/,
    build: (bus) => new SendOnlyClient("ftp://x/", { bus, importFilters: "followers" }),
  },
  {
    cls: "SendOnlyClient",
    names: /maxAnswerSize 0/,
    build: (bus) => new SendOnlyClient(FAR, { bus, importFilters: "followers", maxAnswerSize: 0 }),
  },
  {
    cls: "LegacyPeerLink",
    names: /timeout NaN/,
    build: (bus) =>
      new LegacyPeerLink(
        FAR,
        "token",
        { hop: "0.3@127.0.0.1:1", echoes: LegacyEchoFilter.of(bus, 2_000), onLost() {}, onAlive() {} },
        { bus, importFilters: "followers", timeout: Number.NaN },
      ),
  },
  { cls: "RedisLink", names: /maxMessageBytes 5/, build: (bus) => redis(bus, { maxMessageBytes: 5 }) },
  { cls: "RedisLink", names: /replylessPublish "yes"/, build: (bus) => redis(bus, { replylessPublish: "yes" }) },
  { cls: "RedisLink", names: /connection "http:\/\/x"/, build: (bus) => redis(bus, { connection: "http://x" }) },
  // Known only once the client is open: TLS takes no replyless socket.
  {
    cls: "RedisLink",
    names: /replylessPublish true/,
    build: (bus) => redis(bus, { connection: "rediss://127.0.0.1:1", replylessPublish: true }),
  },
  { cls: "BrokerLink", names: /sendTimeout -3/, build: (bus) => broker(bus, { sendTimeout: -3 }) },
  { cls: "BrokerLink", names: /heartbeatInterval NaN/, build: (bus) => broker(bus, { heartbeatInterval: Number.NaN }) },
  { cls: "BrokerLink", names: /maxMessageBytes 3/, build: (bus) => broker(bus, { maxMessageBytes: 3 }) },
  {
    cls: "BrokerLink",
    names: /acknowledge\[0\]\.noSubscriber "drop"/,
    build: (bus) => broker(bus, { acknowledge: [{ filter: "a:*", noSubscriber: "drop" }] }),
  },
  { cls: "BrokerLink", names: /recvPort 70000/, build: (bus) => broker(bus, { recvPort: 70_000 }) },
  { cls: "BrokerLink", names: /connectTimeout -1/, build: (bus) => broker(bus, { connectTimeout: -1 }) },
  // Known only once ZeroMQ is asked to connect.
  { cls: "BrokerLink", names: /host "bad host"/, build: (bus) => broker(bus, { host: "bad host" }) },
];

it("a link subclass whose constructor throws on its own option leaves nothing on the bus", async () => {
  // Every case runs; what went wrong in each is listed at the end.
  const wrong: string[] = [];
  for (const c of CASES) {
    const bus = new Bus({ id: `subclass-ctor-${c.cls}` });
    // The legacy link's echo filter listens to the bus by design: counted from after it is made.
    if (c.cls === "LegacyPeerLink") LegacyEchoFilter.of(bus, 2_000);
    const messageListeners = bus.listenerCount("message");
    for (let i = 0; i < 20; i++) {
      let thrown: unknown;
      try {
        await c.build(bus);
      } catch (error) {
        thrown = error;
      }
      if (!(thrown instanceof Error) || !c.names.test(thrown.message)) {
        wrong.push(`${c.cls} ${c.names}: threw ${thrown instanceof Error ? thrown.message : String(thrown)}`);
        break;
      }
    }
    const left = [bus.listenerCount("follow"), bus.listenerCount("unfollow"), bus.listenerCount("message") - messageListeners];
    if (left.some((n) => n > 0)) wrong.push(`${c.cls} ${c.names}: follow, unfollow, message listeners left: ${left.join(", ")}`);
    bus.close();
  }
  assert.deepEqual(wrong, []);
});

it("every Link subclass in bridges/ is among those checked above", () => {
  const root = fileURLToPath(new URL("../../bridges/", import.meta.url));
  const files = readdirSync(root, { recursive: true, encoding: "utf8" }).filter((file) => file.endsWith(".ts"));
  const extending = new Map<string, string>();
  for (const file of files) {
    for (const [, cls, base] of readFileSync(join(root, file), "utf8").matchAll(/class (\w+) extends (\w+)\b/g)) {
      extending.set(cls as string, base as string);
    }
  }
  const links = new Set(["Link"]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [cls, base] of extending) {
      if (links.has(base) && !links.has(cls)) {
        links.add(cls);
        grew = true;
      }
    }
  }
  links.delete("Link");
  const checked = new Set(CASES.map((c) => c.cls));
  assert.deepEqual([...links].sort(), [...checked].sort());
});
