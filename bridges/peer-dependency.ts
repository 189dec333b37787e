import { MissingDependencyError } from "../lib/errors.js";

/**
 * Loads an optional peer dependency (`ioredis`, `zeromq`) before a bridge that needs it, so that a
 * missing one fails at import with an error saying what to install (not Node's bare "cannot find").
 * @throws MissingDependencyError when the package is not installed.
 */
export async function requirePeer(packageName: string, subpath: string): Promise<void> {
  try {
    await import(packageName);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ERR_MODULE_NOT_FOUND" && String((error as Error).message).includes(`'${packageName}'`)) {
      throw new MissingDependencyError(packageName, subpath, error);
    }
    throw error;
  }
}
