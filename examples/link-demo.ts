// `npm run demo:link`: two processes linked by a berrymq PeerLink over HTTP JSON-RPC. This process starts
// a child (this same file with --child); each prints what it sees; both exit by themselves.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { PeerLink, serve } from "../bridges/jsonrpc/index.js";
import { Bus, kw } from "../lib/index.js";

const role = process.argv[2] === "--child" ? "child" : "parent";
const say = (text: string): void => console.log(`[${role} ${process.pid}] ${text}`);

const bus = new Bus({ id: role });
const server = await serve({ bus });
bus.follow("*:*", (m) => say(`got ${m.id} ${JSON.stringify(m.args)} ${JSON.stringify(m.kwargs)} via ${m.hops.join(" → ")}`));

if (role === "child") {
  // The child serves; a follower answers `talk("calc:add", ...)` from the other process.
  bus.follow("calc:add", (m) => (m.args as number[]).reduce((x, y) => x + y, 0));
  bus.follow("demo:bye", () => {
    bus.twitter("demo:ack", "bye from the child");
    // Lets the ack leave before the child closes its server.
    setTimeout(() => void server.close().then(() => say("closed")), 200);
  });
  say(`listening on ${server.url}`);
  console.log(`URL ${server.url}`);
} else {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--child"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise<string>((resolve) => {
    lines.on("line", (line) => {
      if (line.startsWith("URL ")) resolve(line.slice(4));
      else console.log(line);
    });
  });
  const link = await PeerLink.connect(url, { bus, server });
  say(`linked to ${url} (far bus "${link.farBusId}")`);

  bus.twitter("demo:hello", "from the parent", kw({ n: 1 }));
  const sum = new Promise<number>((resolve) => bus.follow("calc:result", (m) => resolve(m.args[0] as number)));
  await bus.talk("calc:add", "calc:result", 1, 2, 3);
  say(`talk("calc:add", 1, 2, 3) answered by the child: ${await sum}`);

  const acked = new Promise<void>((resolve) => bus.follow("demo:ack", () => resolve()));
  bus.twitter("demo:bye");
  await acked;
  await link.close();
  await server.close();
  await new Promise((resolve) => child.once("exit", resolve));
  say("done");
}
