import { randomBytes } from "node:crypto";
import { text } from "node:stream/consumers";
import { createUser } from "../auth/index.js";
import { withStore } from "./store.js";

export async function runUsersAdd(username: string, options: { admin: boolean; passwordStdin: boolean }): Promise<void> {
  const given = options.passwordStdin ? (await text(process.stdin)).replace(/\r?\n$/, "") : undefined;
  const password = given ?? randomBytes(18).toString("base64url");
  const user = await withStore("users add", (store) => createUser(store.db, { username, password, admin: options.admin }));
  process.stdout.write(`created ${user.admin ? "admin " : ""}user ${user.username} (${user.userId})\n`);
  if (given === undefined) process.stdout.write(`password: ${password}\n`);
}
