import { Redis } from "ioredis";

/** The CLIENT LIST lines of the Redis on 127.0.0.1:`port` whose connection name starts with `name`. */
export async function clientsNamed(port: number, name: string, auth?: { username: string; password: string }): Promise<string[]> {
  const admin = new Redis({ port, host: "127.0.0.1", ...auth });
  try {
    const list = (await admin.client("LIST")) as string;
    return list.split("\n").filter((line) => line.includes(` name=${name}`));
  } finally {
    admin.disconnect();
  }
}
