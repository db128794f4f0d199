// Account administration through the running server: `keys list`, `keys revoke` and `users create` (beside the
// local `keys create` and `users add`, which talk to the database directly).
import type { Command } from "commander";
import { randomBytes } from "node:crypto";
import { text as readAll } from "node:stream/consumers";
import { ApiKeySchema, type ApiKey, UserSchema } from "../../../gen/agentnet/v1/auth_pb.js";
import type { AgentnetClient } from "@agentnet/client";
import { type ApiOptions, apiAction, withApi } from "./connection.js";
import { json, out, protoJson, table, time } from "./output.js";

export function registerAccounts(keys: Command, users: Command): void {
  withApi(keys.command("list").description("list your API keys (admins: everyone's) through the server"))
    .option("--include-revoked", "also show revoked keys", false)
    .action(
      apiAction(async (client: AgentnetClient, o: ApiOptions & { includeRevoked: boolean }) => {
        const list = await client.listApiKeys({ includeRevoked: o.includeRevoked });
        if (o.json) return json(list.map((k) => protoJson(ApiKeySchema, k)));
        if (list.length === 0) return out("no API keys");
        table(
          ["KEY", "NAME", "PREFIX", "OWNER", "CREATED", "EXPIRES", "LAST USED", "REVOKED"],
          list.map((k: ApiKey) => [
            k.keyId,
            k.name,
            k.prefix,
            k.owner,
            time(k.createdAt),
            time(k.expiresAt),
            time(k.lastUsedAt),
            time(k.revokedAt),
          ]),
        );
      }),
    );

  withApi(keys.command("revoke").description("revoke an API key at once, through the server"))
    .argument("<key_id>", "the key's id (see keys list)")
    .action(
      apiAction(async (client: AgentnetClient, keyId: string, o: ApiOptions) => {
        const key = await client.revokeApiKey(keyId);
        if (o.json) return json(protoJson(ApiKeySchema, key));
        out(`revoked ${key.keyId} (${key.name}) of ${key.owner} at ${time(key.revokedAt)}`);
      }),
    );

  withApi(users.command("create").description("create a user through the server (admins); prints a generated password unless one is given"))
    .argument("<username>", "the new user's name")
    .option("--admin", "make the user an administrator", false)
    .option("--password-stdin", "read the password from standard input", false)
    .action(
      apiAction(async (client: AgentnetClient, username: string, o: ApiOptions & { admin: boolean; passwordStdin: boolean }) => {
        const given = o.passwordStdin ? (await readAll(process.stdin)).replace(/\r?\n$/, "") : undefined;
        const password = given ?? randomBytes(18).toString("base64url");
        const user = await client.createUser(username, password, { admin: o.admin });
        if (o.json) return json({ user: protoJson(UserSchema, user), ...(given === undefined ? { password } : {}) });
        out(`created ${user.admin ? "admin " : ""}user ${user.username} (${user.userId})`);
        if (given === undefined) out(`password: ${password}`);
      }),
    );
}
