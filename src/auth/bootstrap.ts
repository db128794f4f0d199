import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Database } from "../store/schema.js";
import { countUsers, createUser } from "./users.js";

const JWT_SECRET_NAME = "jwt_signing_key";

/**
 * The JWT signing secret: the configured one, else one generated once and kept in the store. Keeping it in the
 * store (which in embedded mode lives in the data folder) means every gateway sharing a database signs and
 * accepts the same tokens, and tokens survive restarts.
 */
export async function ensureJwtSecret(db: Kysely<Database>, configured: string | undefined): Promise<string> {
  if (configured !== undefined) return configured;
  await db
    .insertInto("server_secrets")
    .values({ name: JWT_SECRET_NAME, value: randomBytes(48).toString("base64url") })
    .onConflict((oc) => oc.column("name").doNothing())
    .execute();
  const row = await db.selectFrom("server_secrets").select("value").where("name", "=", JWT_SECRET_NAME).executeTakeFirstOrThrow();
  return row.value;
}

/**
 * On an empty database, creates the admin user `admin` with the configured password, or with a random one
 * written to `<dataDir>/admin-password` (mode 0600). Gateways racing on one database create it once.
 */
export async function ensureAdmin(
  db: Kysely<Database>,
  options: { password: string | undefined; dataDir: string; logger: Logger },
): Promise<void> {
  if ((await countUsers(db)) > 0) return;
  const password = options.password ?? randomBytes(18).toString("base64url");
  try {
    await createUser(db, { username: "admin", password, admin: true });
  } catch (err) {
    if (err instanceof Error && "reason" in err && err.reason === "username_taken") return; // another gateway won
    throw err;
  }
  if (options.password !== undefined) {
    options.logger.info("created the admin user 'admin' with the password from AGENTNET_ADMIN_PASSWORD");
    return;
  }
  await mkdir(options.dataDir, { recursive: true });
  const file = path.join(options.dataDir, "admin-password");
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  options.logger.warn({ file }, `created the admin user 'admin'; its password is in ${file}`);
}
