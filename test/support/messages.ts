import type { Kysely } from "kysely";
import { ulid } from "ulid";
import { AuthService } from "../../gen/agentnet/v1/auth_pb.js";
import type { MessageKindName, MessageStatus } from "../../src/messaging/tables.js";
import { MessageWriter, StatusWriter } from "../../src/messaging/writer.js";
import type { Database } from "../../src/store/schema.js";
import { client } from "./clients.js";

// Fixtures for history, blob and retention tests: messages stored by the real writer but dated in the past and
// set to any status, which Send (rightly) does not allow.

export interface TestUser {
  userId: string;
  username: string;
  token: string;
}

/** A new (non-admin) user, created by the admin, and its access token. */
export async function createTestUser(baseUrl: string, adminToken: string, username: string): Promise<TestUser> {
  const password = `password-of-${username}`;
  const created = await client(AuthService, baseUrl, adminToken).createUser({ username, password });
  const login = await client(AuthService, baseUrl).login({ username, password });
  return { userId: created.user!.userId, username, token: login.accessToken };
}

export interface TestAccount {
  accountId: string;
  username: string;
}

/** An agent account owned by `owner`, stored as Register would, but without a session (never online). */
export async function insertAccount(
  db: Kysely<Database>,
  owner: Pick<TestUser, "userId" | "username">,
  username: string,
): Promise<TestAccount> {
  const accountId = `acct_${ulid()}`;
  await db
    .insertInto("accounts")
    .values({
      account_id: accountId,
      username,
      owner_user_id: owner.userId,
      owner_username: owner.username,
      agent_id: username,
      display_name: username,
      bio: "",
      capabilities: [],
      metadata: "{}",
      visibility: "public",
      public_key: null,
      updated_at: new Date(),
      last_seen_at: null,
    })
    .execute();
  return { accountId, username };
}

export interface MessageFixture {
  from: TestAccount;
  to: TestAccount;
  threadId: string;
  payload?: Record<string, unknown>;
  kind?: MessageKindName;
  sentAt?: Date;
  ttlMs?: number;
  status?: MessageStatus;
  traceId?: string;
  parentMessageId?: string;
  blobIds?: string[];
  messageId?: string;
}

/** Stores one message through the real writer (receipt, thread counters, participants, blob grants), dated as given. */
export async function insertMessage(db: Kysely<Database>, m: MessageFixture): Promise<string> {
  const messageId = m.messageId ?? `msg_${ulid()}`;
  const payload = m.payload ?? { text: "hello" };
  const json = JSON.stringify(payload);
  const sentAt = m.sentAt ?? new Date();
  // A day by default: fixtures dated in the past must not be expired by the gateway's sweep mid-test.
  const ttlMs = m.ttlMs ?? 86_400_000;
  const traceId = m.traceId ?? messageId;
  const result = await new MessageWriter(db).write({
    messageId,
    threadId: m.threadId,
    parentMessageId: m.parentMessageId ?? "",
    traceId,
    traceparent: "",
    kind: m.kind ?? "direct",
    fromAccountId: m.from.accountId,
    fromUsername: m.from.username,
    fromAgentId: m.from.username,
    fromSessionTag: "",
    to: { accountId: m.to.accountId },
    toAccountId: m.to.accountId,
    toUsername: m.to.username,
    payload,
    payloadBytes: Buffer.byteLength(json),
    payloadChars: json.length,
    sentAt,
    ttlMs,
    expiresAt: new Date(sentAt.getTime() + ttlMs),
    schemaVersion: "1.1",
    idempotencyKey: "",
    signature: null,
    blobIds: m.blobIds ?? [],
  });
  if (result.outcome !== "inserted") throw new Error(`fixture message ${messageId} was not inserted: ${result.outcome}`);
  const status = m.status ?? "accepted";
  if (status !== "accepted") {
    await new StatusWriter(db).apply({
      messageId,
      to: status,
      sessionTag: "",
      code: status === "rejected" ? "test_rejection" : "",
      detail: "",
    });
  }
  return messageId;
}
