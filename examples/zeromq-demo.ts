// `npm run demo:zeromq`: a broker, two buses linked through it (one message acknowledged), then the
// bidirectional RPC with CURVE: the client calls the server and the server calls the client back.
import { Bus } from "../lib/index.js";
import { Broker, BrokerLink, curveKeyPair, RpcClient, RpcRemoteError, RpcServer } from "../bridges/zeromq/index.js";

const broker = await Broker.start({ pubPort: 0, recvPort: 0, resendInterval: 200 });
const ports = { pubPort: broker.pubPort, recvPort: broker.recvPort };

const shop = new Bus({ id: "shop" });
const warehouse = new Bus({ id: "warehouse" });
const shopLink = await BrokerLink.connect({ bus: shop, ...ports, importFilters: ["none:none"], acknowledge: ["order:*"] });
const warehouseLink = await BrokerLink.connect({ bus: warehouse, ...ports, importFilters: ["order:*"] });

const shipped = new Promise<void>((resolve) => {
  warehouse.follow("order:new", (m) => {
    console.log(`warehouse got ${m.id}`, m.args, `(from ${m.hops[0]})`);
    resolve();
  });
});
shop.twitter("order:new", { sku: "berry-jam", quantity: 2 });
await shipped;
while (broker.held > 0) await new Promise((resolve) => setTimeout(resolve, 10));
console.log(`broker: ${broker.stats.acked} acknowledged, ${broker.held} held`);
await shopLink.close();
await warehouseLink.close();
broker.close();

const serverKeys = curveKeyPair();
const clientKeys = curveKeyPair();
const server = await RpcServer.listen({ port: 0, curve: { ...serverKeys, allow: [clientKeys.publicKey] } });
server.register("hello", (name) => `Hello ${String(name)}`);
server.register("divide", (a, b) => {
  if (b === 0) throw new RangeError("division by zero");
  return (a as number) / (b as number);
});
const client = RpcClient.connect({ port: server.port, identity: "worker-1", curve: { serverKey: serverKeys.publicKey, ...clientKeys } });
client.register("status", () => ({ state: "idle" }));

console.log(await client.call("hello", "Charly"));
try {
  await client.call("divide", 1, 0);
} catch (error) {
  if (error instanceof RpcRemoteError) console.log(`remote ${error.remoteName}: ${error.remoteMessage}`);
}
console.log("server asks worker-1:", await server.call("worker-1", "status"));
client.close();
server.close();
