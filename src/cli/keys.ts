import { createApiKey, findUserByName } from "../auth/index.js";
import { DomainError } from "../errors.js";
import { withStore } from "./store.js";

export async function runKeysCreate(options: { user: string; name: string; expiresIn?: string }): Promise<void> {
  const expiresInSeconds = options.expiresIn === undefined ? undefined : Number(options.expiresIn);
  if (expiresInSeconds !== undefined && !Number.isSafeInteger(expiresInSeconds)) {
    throw new Error(`--expires-in must be a whole number of seconds, got "${options.expiresIn}"`);
  }
  const { key, secret } = await withStore("keys create", async (store) => {
    const user = await findUserByName(store.db, options.user);
    if (!user) throw new DomainError("not_found", "user_not_found", `no user named ${options.user}`);
    return createApiKey(store.db, user, { name: options.name, expiresInSeconds });
  });
  process.stdout.write(`created API key ${key.keyId} (${key.name}) for ${key.owner}\n`);
  process.stdout.write(`secret (shown once): ${secret}\n`);
}
