import type { Kysely } from "kysely";
import { newUlid } from "../ids.js";
import { checkBlobsForSend } from "../blobs/index.js";
import type { Config } from "../config.js";
import { DomainError } from "../errors.js";
import type { Account } from "../registry/index.js";
import type { Database } from "../store/schema.js";
import type { Target } from "./addressing.js";
import type { MessageKindName } from "./tables.js";
import { SIGNATURE_SCHEME, verifySignature } from "./signature.js";
import { checkBlobCount, checkId, checkIdempotencyKey, checkStreamPart, measurePayload, schemaVersion, ttlMs } from "./validate.js";
import type { MessageDraft } from "./writer.js";

export interface SignatureInput {
  scheme: string;
  publicKey: Uint8Array;
  signature: Uint8Array;
}

/** Everything a sender controls about one message. */
export interface MessageInput {
  payload: Record<string, unknown>;
  kind: MessageKindName;
  threadId: string;
  parentMessageId: string;
  traceId: string;
  idempotencyKey: string;
  ttlMs?: number | undefined;
  expiresAt?: Date | undefined;
  schemaVersion: string;
  signature?: SignatureInput | undefined;
  blobIds: string[];
  sessionTag: string;
  messageId: string;
  /** W3C trace context of the call that sends it (from its `traceparent` metadata, or the gateway's span). */
  traceparent?: string | undefined;
}

/** A message as its sender composed it, checked field by field (no store access): what the writer stores. */
export function composeDraft(
  sender: Account,
  recipient: Account,
  to: Target,
  input: MessageInput,
  now: Date,
  config: Config,
): MessageDraft {
  checkId("message_id", input.messageId, "invalid_message_id");
  checkId("thread_id", input.threadId);
  checkId("parent_message_id", input.parentMessageId);
  checkId("trace_id", input.traceId);
  checkIdempotencyKey(input.idempotencyKey);
  checkBlobCount(input.blobIds);
  checkStreamPart(input.kind, input.payload);
  const size = measurePayload(input.payload, config);
  const ttl = ttlMs(input, config, now);
  const messageId = input.messageId || `msg_${newUlid()}`;
  const traceId = input.traceId || messageId;
  return {
    messageId,
    threadId: input.threadId || `thread_${traceId}`,
    parentMessageId: input.parentMessageId,
    traceId,
    traceparent: input.traceparent ?? "",
    kind: input.kind,
    fromAccountId: sender.accountId,
    fromUsername: sender.username,
    fromAgentId: sender.agentId,
    fromSessionTag: input.sessionTag,
    to,
    toAccountId: recipient.accountId,
    toUsername: recipient.username,
    payload: input.payload,
    payloadJson: size.json,
    payloadBytes: size.bytes,
    payloadChars: size.chars,
    sentAt: now,
    ttlMs: ttl,
    expiresAt: new Date(now.getTime() + ttl),
    schemaVersion: schemaVersion(input.schemaVersion),
    idempotencyKey: input.idempotencyKey,
    signature: input.signature ?? null,
    blobIds: input.blobIds,
  };
}

/**
 * What needs the store before a draft may be written: its blobs must be the sender's, and its signature, when
 * given, must verify against the account's bound key (or the key it carries, for accounts without one).
 */
export async function checkDraft(db: Kysely<Database>, sender: Account, draft: MessageDraft): Promise<MessageDraft> {
  if (draft.blobIds.length > 0) await checkBlobsForSend(db, sender.accountId, draft.blobIds);
  const sig = draft.signature;
  if (!sig) return draft;
  const refuse = (why: string) => new DomainError("permission_denied", "invalid_signature", `signature: ${why}`, { field: "signature" });
  if (sig.scheme !== SIGNATURE_SCHEME) {
    throw new DomainError("invalid_argument", "invalid_signature", `signature.scheme: only "${SIGNATURE_SCHEME}" is supported`, {
      field: "signature.scheme",
    });
  }
  const bound = sender.publicKey;
  if (bound && sig.publicKey.length > 0 && !Buffer.from(bound).equals(Buffer.from(sig.publicKey))) {
    throw refuse("signed with a key other than the one bound to the account");
  }
  const key = bound ?? sig.publicKey;
  if (key.length !== 32) throw refuse("no public key: bind one at Register or send it in signature.public_key");
  if (!verifySignature(key, sig.signature, draft)) {
    throw refuse("does not verify over the message's canonical form (set message_id and ttl_ms when signing)");
  }
  return { ...draft, signature: { ...sig, publicKey: key } };
}
