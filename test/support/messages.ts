import { type Kysely, sql } from "kysely";
import { ulid } from "ulid";
import { AuthService } from "../../gen/agentnet/v1/auth_pb.js";
import { grantBlobs } from "../../src/blobs/blobs.js";
import type { MessageKindName, MessageStatus } from "../../src/messaging/tables.js";
import type { Database } from "../../src/store/schema.js";
import { client } from "./clients.js";

// Fixtures for history, blob and retention tests: rows written exactly as Send writes them (message, `accepted`
// receipt, thread counters, participants, blob grants), so those tests do not depend on the delivery path.
// Swap insertMessage for a real Send once it is the simpler way.

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

/**
 * An agent account owned by `owner`, inserted as Register would store it (without a session).
 * TODO: switch to RegistryService.Register once it is served.
 */
export async function insertAccount(db: Kysely<Database>, owner: Pick<TestUser, "userId" | "username">, username: string): Promise<TestAccount> {
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

/** Stores one message with its receipt, thread counters and participants, in one transaction like Send. */
export async function insertMessage(db: Kysely<Database>, m: MessageFixture): Promise<string> {
  const messageId = m.messageId ?? `msg_${ulid()}`;
  const payload = m.payload ?? { text: "hello" };
  const json = JSON.stringify(payload);
  const sentAt = m.sentAt ?? new Date();
  // A day by default: fixtures dated in the past must not be expired by the gateway's sweep mid-test.
  const ttlMs = m.ttlMs ?? 86_400_000;
  const traceId = m.traceId ?? messageId;
  const status = m.status ?? "accepted";
  const checkpoint = payload["type"] === "checkpoint" && payload["end"] !== undefined ? String(payload["end"]) : "";
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto("messages")
      .values({
        message_id: messageId,
        thread_id: m.threadId,
        parent_message_id: m.parentMessageId ?? "",
        trace_id: traceId,
        kind: m.kind ?? "direct",
        from_account_id: m.from.accountId,
        from_username: m.from.username,
        from_agent_id: m.from.username,
        from_session_tag: "",
        to_target: JSON.stringify({ account_id: m.to.accountId }),
        to_account_id: m.to.accountId,
        to_username: m.to.username,
        payload: json,
        payload_bytes: Buffer.byteLength(json),
        payload_chars: json.length,
        sent_at: sentAt,
        ttl_ms: ttlMs,
        expires_at: new Date(sentAt.getTime() + ttlMs),
        schema_version: "1.1",
        idempotency_key: null,
        signature: null,
        blob_ids: m.blobIds ?? [],
        status,
        status_session_tag: "",
        status_code: "",
        status_detail: "",
        lease_until: null,
        updated_at: sentAt,
      })
      .execute();
    await trx
      .insertInto("receipts")
      .values({
        message_id: messageId,
        sender_account_id: m.from.accountId,
        recipient_account_id: m.to.accountId,
        status: "accepted",
        event_at: sentAt,
        recipient_session_tag: "",
        thread_id: m.threadId,
        trace_id: traceId,
        code: "",
        detail: "",
        delivery_attempt: 0,
      })
      .execute();
    await trx
      .insertInto("threads")
      .values({
        thread_id: m.threadId,
        created_at: sentAt,
        last_message_at: sentAt,
        last_message_id: messageId,
        message_count: 1,
        byte_count: Buffer.byteLength(json),
        char_count: json.length,
        latest_checkpoint_end: checkpoint,
        chat_session_id: null,
      })
      .onConflict((oc) =>
        oc.column("thread_id").doUpdateSet({
          message_count: sql`threads.message_count + excluded.message_count`,
          byte_count: sql`threads.byte_count + excluded.byte_count`,
          char_count: sql`threads.char_count + excluded.char_count`,
          last_message_at: sql`greatest(threads.last_message_at, excluded.last_message_at)`,
          last_message_id: sql`excluded.last_message_id`,
          latest_checkpoint_end: sql`case when excluded.latest_checkpoint_end <> '' then excluded.latest_checkpoint_end
                                          else threads.latest_checkpoint_end end`,
        }),
      )
      .execute();
    await trx
      .insertInto("thread_participants")
      .values([...new Set([m.from.accountId, m.to.accountId])].map((account_id) => ({ thread_id: m.threadId, account_id })))
      .onConflict((oc) => oc.doNothing())
      .execute();
    await grantBlobs(trx, (m.blobIds ?? []).map((blobId) => ({ blobId, accountId: m.to.accountId })));
  });
  return messageId;
}
