import type { Kysely } from "kysely";
import { newUlid } from "../ids.js";
import { DomainError, invalidArgument } from "../errors.js";
import type { Database } from "../store/schema.js";
import { hashPassword } from "./passwords.js";

// The contract's rule (auth.proto CreateUser): 1..32 characters of a-z0-9._- after lowercasing, nothing more.
const USERNAME = /^[a-z0-9._-]{1,32}$/;
export const MIN_PASSWORD_LENGTH = 8;
const MAX_PASSWORD_LENGTH = 1024;

export interface UserRecord {
  userId: string;
  username: string;
  admin: boolean;
  createdAt: Date;
}

export interface UserWithHash extends UserRecord {
  passwordHash: string;
}

/** Usernames are compared case-insensitively: stored lowercase, trimmed. */
export function normaliseUsername(username: string): string {
  return username.trim().toLowerCase();
}

export function validateUsername(username: string, field = "username"): string {
  const name = normaliseUsername(username);
  if (name === "") throw invalidArgument(field, "must not be empty", "invalid_username");
  if (!USERNAME.test(name)) {
    throw invalidArgument(field, "must be 1 to 32 characters of a-z, 0-9, '.', '_' or '-'", "invalid_username");
  }
  return name;
}

export function validatePassword(password: string, field = "password"): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw invalidArgument(field, `must be at least ${MIN_PASSWORD_LENGTH} characters`, "weak_password");
  }
  // Not weak, so not `weak_password`: the bound only keeps hashing cheap.
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw invalidArgument(field, `must be at most ${MAX_PASSWORD_LENGTH} characters`, "password_too_long");
  }
}

export async function createUser(db: Kysely<Database>, input: { username: string; password: string; admin: boolean }): Promise<UserRecord> {
  const username = validateUsername(input.username);
  validatePassword(input.password);
  const passwordHash = await hashPassword(input.password);
  const row = await db
    .insertInto("users")
    .values({ user_id: `usr_${newUlid()}`, username, password_hash: passwordHash, admin: input.admin, updated_at: new Date() })
    .onConflict((oc) => oc.column("username").doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new DomainError("already_exists", "username_taken", `a user named ${username} already exists`);
  return { userId: row.user_id, username: row.username, admin: row.admin, createdAt: row.created_at };
}

export async function findUserByName(db: Kysely<Database>, username: string): Promise<UserWithHash | undefined> {
  const row = await db.selectFrom("users").selectAll().where("username", "=", normaliseUsername(username)).executeTakeFirst();
  return (
    row && { userId: row.user_id, username: row.username, admin: row.admin, createdAt: row.created_at, passwordHash: row.password_hash }
  );
}

export async function findUserById(db: Kysely<Database>, userId: string): Promise<UserRecord | undefined> {
  const row = await db
    .selectFrom("users")
    .select(["user_id", "username", "admin", "created_at"])
    .where("user_id", "=", userId)
    .executeTakeFirst();
  return row && { userId: row.user_id, username: row.username, admin: row.admin, createdAt: row.created_at };
}

export async function countUsers(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom("users")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
