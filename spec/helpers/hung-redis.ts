// A hung Redis for a whole spec file: a redis-server SIGSTOPped, so the kernel still accepts and
// acknowledges connections while Redis answers nothing.
import { after, before } from "node:test";
import { type RedisServer, startRedis } from "./redis-server.js";

/** Starts it before the file's tests and resumes and stops it after them; the server, once started. */
export function hungRedis(): () => RedisServer {
  let server: RedisServer | undefined;
  before(async () => {
    server = await startRedis({ own: true });
    process.kill(server.pid as number, "SIGSTOP");
  });
  after(async () => {
    if (server?.pid !== undefined) process.kill(server.pid, "SIGCONT");
    await server?.stop();
  });
  return () => {
    if (server === undefined) throw new Error("the hung Redis is started before the tests");
    return server;
  };
}
