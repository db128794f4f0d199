import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type Envelope,
  MessageKind,
  type Participant,
  ParticipantSchema,
  type ThreadSummary,
  ThreadSummarySchema,
} from "../../gen/agentnet/v1/messaging_pb.js";
import type { Blobs } from "../blobs/index.js";
import { DomainError } from "../errors.js";
import type { History, Participant as DomainParticipant, ThreadSummary as DomainThreadSummary, StoredMessage } from "../messaging/index.js";
import { principalOf } from "../server/context.js";
import { envelopeBlobs } from "./blobs.js";
import { kindFromProto, toEnvelope } from "./envelope.js";
import type { MessagingHandlers } from "./messaging-handlers.js";

/** MessagingService's history RPCs: ListThreads, GetThreadMessages, SearchMessages, GetThreadStatus. */
export function historyHandlers(
  history: History,
  blobs: Blobs,
): Pick<MessagingHandlers, "listThreads" | "getThreadMessages" | "searchMessages" | "getThreadStatus"> {
  return {
    async listThreads(req, ctx) {
      const page = await history.listThreads(principalOf(ctx), {
        pageSize: req.pageSize,
        pageToken: req.pageToken,
        participantAccountId: req.participantAccountId,
        participantUsername: req.participantUsername,
        query: req.query,
      });
      return { threads: page.items.map(toThreadSummary), nextPageToken: page.nextPageToken };
    },

    async getThreadMessages(req, ctx) {
      const page = await history.getThreadMessages(principalOf(ctx), {
        threadId: req.threadId,
        pageSize: req.pageSize,
        pageToken: req.pageToken,
      });
      return { messages: await toEnvelopes(blobs, page.items), nextPageToken: page.nextPageToken };
    },

    async searchMessages(req, ctx) {
      const kind = req.kind === MessageKind.UNSPECIFIED ? undefined : kindFromProto(req.kind);
      if (req.kind !== MessageKind.UNSPECIFIED && kind === undefined) {
        throw new DomainError("invalid_argument", "invalid_argument", `kind: unknown message kind ${req.kind}`, { field: "kind" });
      }
      const page = await history.searchMessages(principalOf(ctx), {
        threadId: req.threadId,
        fromAccountId: req.fromAccountId,
        fromUsername: req.fromUsername,
        toAccountId: req.toAccountId,
        toUsername: req.toUsername,
        kind,
        since: checkedDate(req.since, "since"),
        until: checkedDate(req.until, "until"),
        traceId: req.traceId,
        pageSize: req.pageSize,
        pageToken: req.pageToken,
      });
      return { messages: await toEnvelopes(blobs, page.items), nextPageToken: page.nextPageToken };
    },

    async getThreadStatus(req, ctx) {
      const status = await history.getThreadStatus(principalOf(ctx), req.threadId);
      return {
        threadId: status.threadId,
        messageCount: BigInt(status.messageCount),
        pendingMessages: BigInt(status.pendingMessages),
        byteCount: BigInt(status.byteCount),
        approxTokens: BigInt(status.approxTokens),
        latestCheckpointEnd: status.latestCheckpointEnd,
        lastMessageAt: timestampFromDate(status.lastMessageAt),
        createdAt: timestampFromDate(status.createdAt),
        participants: status.participants.map(toParticipant),
        status: "ok",
      };
    },
  };
}

// google.protobuf.Timestamp's valid range (0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z).
const MIN_TIMESTAMP_SECONDS = -62_135_596_800n;
const MAX_TIMESTAMP_SECONDS = 253_402_300_799n;

/**
 * A request timestamp as a Date, refusing ones outside the Timestamp type's range. JSON clients cannot send such
 * values (the decoder refuses them), but binary clients can.
 */
function checkedDate(ts: Timestamp | undefined, field: string): Date | undefined {
  if (ts === undefined) return undefined;
  if (ts.seconds < MIN_TIMESTAMP_SECONDS || ts.seconds > MAX_TIMESTAMP_SECONDS || ts.nanos < 0 || ts.nanos > 999_999_999) {
    throw new DomainError(
      "invalid_argument",
      "invalid_time_range",
      `${field}: not a valid timestamp (seconds ${ts.seconds}, nanos ${ts.nanos})`,
      {
        field,
      },
    );
  }
  return timestampDate(ts);
}

function toParticipant(p: DomainParticipant): Participant {
  return create(ParticipantSchema, { accountId: p.accountId, username: p.username });
}

function toThreadSummary(t: DomainThreadSummary): ThreadSummary {
  return create(ThreadSummarySchema, {
    threadId: t.threadId,
    participants: t.participants.map(toParticipant),
    messageCount: BigInt(t.messageCount),
    byteCount: BigInt(t.byteCount),
    approxTokens: BigInt(t.approxTokens),
    createdAt: timestampFromDate(t.createdAt),
    lastMessageAt: timestampFromDate(t.lastMessageAt),
    lastMessageId: t.lastMessageId,
    chatSessionId: t.chatSessionId,
  });
}

/** Envelopes of history reads, with the referenced blobs' metadata. */
async function toEnvelopes(blobs: Blobs, messages: StoredMessage[]): Promise<Envelope[]> {
  const infos = await blobs.infos(messages.flatMap((m) => m.blobIds));
  return messages.map((m) => {
    const envelope = toEnvelope(m);
    envelope.blobs = envelopeBlobs(m.blobIds, infos);
    return envelope;
  });
}
