// `agentnet threads`, `thread-status`, `thread-messages` and `message-search`: stored conversations, as the seed's
// registry.thread_list / thread_status / thread_messages / message_search showed them.
import type { Command } from "commander";
import {
  type Envelope,
  EnvelopeSchema,
  GetThreadStatusResponseSchema,
  ThreadSummarySchema,
} from "../../../gen/agentnet/v1/messaging_pb.js";
import { type AgentnetClient, type Page, kindName, statusName } from "@agentnet/client";
import { type ApiOptions, apiAction, withApi } from "./connection.js";
import { UsageError, date, positiveInt } from "./errors.js";
import { clip, handle, json, keyValues, out, protoJson, table, time } from "./output.js";

interface PageFlags extends ApiOptions {
  limit?: string;
  cursor?: string;
}

function threadIdOf(arg: string | undefined, flag: string | undefined): string {
  const id = flag ?? arg;
  if (!id) throw new UsageError("name the thread: --thread-id <id>");
  return id;
}

function oneOf(flags: Array<string | undefined>, names: string): string | undefined {
  const given = flags.filter((f): f is string => Boolean(f));
  if (given.length > 1) throw new UsageError(`give at most one of ${names}`);
  return given[0];
}

export function registerThreads(program: Command): void {
  withApi(program.command("threads").description("list threads you can read, most recent activity first"))
    .option("--participant <agent>", "only threads this account id or @username takes part in")
    .option("--participant-username <username>", "only threads this username takes part in")
    .option("--participant-account <account_id>", "only threads this account takes part in")
    .option("--query <text>", "substring of the thread id")
    .option("--limit <n>", "threads per page (default 20)")
    .option("--cursor <cursor>", "next page: the cursor printed after the previous one")
    .action(
      apiAction(
        async (
          client: AgentnetClient,
          o: PageFlags & { participant?: string; participantUsername?: string; participantAccount?: string; query?: string },
        ) => {
          const participant = oneOf(
            [o.participant, o.participantUsername && `@${o.participantUsername.replace(/^@/, "")}`, o.participantAccount],
            "--participant, --participant-username, --participant-account",
          );
          const page = await client.listThreads({ participant, query: o.query, limit: positiveInt(o.limit, "--limit"), cursor: o.cursor });
          if (o.json) return json({ threads: page.items.map((t) => protoJson(ThreadSummarySchema, t)), nextCursor: page.nextCursor });
          if (page.items.length === 0) return out("no threads");
          table(
            ["THREAD", "MESSAGES", "BYTES", "TOKENS", "LAST ACTIVITY", "PARTICIPANTS"],
            page.items.map((t) => [
              t.threadId,
              String(t.messageCount),
              String(t.byteCount),
              String(t.approxTokens),
              time(t.lastMessageAt),
              t.participants.map((p) => handle(p.username)).join(", "),
            ]),
          );
          more(page.nextCursor);
        },
      ),
    );

  withApi(program.command("thread-status").description("show a thread's stored counters and participants"))
    .argument("[thread]", "the thread id")
    .option("--thread-id <thread>", "the thread id")
    .action(
      apiAction(async (client: AgentnetClient, arg: string | undefined, o: ApiOptions & { threadId?: string }) => {
        const s = await client.threadStatus(threadIdOf(arg, o.threadId));
        if (o.json) return json(protoJson(GetThreadStatusResponseSchema, s));
        keyValues([
          ["thread_id", s.threadId],
          ["status", s.status],
          ["message_count", String(s.messageCount)],
          ["pending_messages", String(s.pendingMessages)],
          ["byte_count", String(s.byteCount)],
          ["approx_tokens", String(s.approxTokens)],
          ["latest_checkpoint_end", s.latestCheckpointEnd || "-"],
          ["created_at", time(s.createdAt)],
          ["last_message_at", time(s.lastMessageAt)],
          ["participants", s.participants.map((p) => `${handle(p.username)} (${p.accountId})`).join(", ") || "-"],
        ]);
      }),
    );

  withApi(program.command("thread-messages").description("page through a thread's messages, newest first"))
    .argument("[thread]", "the thread id")
    .option("--thread-id <thread>", "the thread id")
    .option("--limit <n>", "messages per page (default 50)")
    .option("--cursor <cursor>", "next page: the cursor printed after the previous one")
    .action(
      apiAction(async (client: AgentnetClient, arg: string | undefined, o: PageFlags & { threadId?: string }) => {
        const page = await client.getThreadMessages(threadIdOf(arg, o.threadId), {
          limit: positiveInt(o.limit, "--limit"),
          cursor: o.cursor,
        });
        printMessages(page, o.json);
      }),
    );

  withApi(program.command("message-search").description("search messages you can read, newest first"))
    .option("--thread-id <thread>", "only this thread")
    .option("--from <agent>", "only sent by this account id or @username")
    .option("--from-username <username>", "only sent by this username")
    .option("--from-account <account_id>", "only sent by this account")
    .option("--to <agent>", "only addressed to this account id or @username")
    .option("--to-username <username>", "only addressed to this username")
    .option("--to-account <account_id>", "only addressed to this account")
    .option("--kind <kind>", "only this kind: direct, request, reply, error, system, stream")
    .option("--since <time>", "only sent at or after this time (ISO 8601)")
    .option("--until <time>", "only sent before this time (ISO 8601)")
    .option("--trace-id <trace>", "only this trace")
    .option("--limit <n>", "messages per page (default 50)")
    .option("--cursor <cursor>", "next page: the cursor printed after the previous one")
    .action(
      apiAction(
        async (
          client: AgentnetClient,
          o: PageFlags & {
            threadId?: string;
            from?: string;
            fromUsername?: string;
            fromAccount?: string;
            to?: string;
            toUsername?: string;
            toAccount?: string;
            kind?: string;
            since?: string;
            until?: string;
            traceId?: string;
          },
        ) => {
          const from = oneOf(
            [o.from, o.fromUsername && `@${o.fromUsername.replace(/^@/, "")}`, o.fromAccount],
            "--from, --from-username, --from-account",
          );
          const to = oneOf([o.to, o.toUsername && `@${o.toUsername.replace(/^@/, "")}`, o.toAccount], "--to, --to-username, --to-account");
          const kinds = ["direct", "request", "reply", "error", "system", "stream"];
          if (o.kind !== undefined && !kinds.includes(o.kind.toLowerCase()))
            throw new UsageError(`--kind must be one of ${kinds.join(", ")}, got "${o.kind}"`);
          const page = await client.searchMessages({
            threadId: o.threadId,
            from,
            to,
            kind: o.kind,
            since: date(o.since, "--since"),
            until: date(o.until, "--until"),
            traceId: o.traceId,
            limit: positiveInt(o.limit, "--limit"),
            cursor: o.cursor,
          });
          printMessages(page, o.json);
        },
      ),
    );
}

function printMessages(page: Page<Envelope>, asJson: boolean | undefined): void {
  if (asJson) return json({ messages: page.items.map((m) => protoJson(EnvelopeSchema, m)), nextCursor: page.nextCursor });
  if (page.items.length === 0) return out("no messages");
  table(
    ["SENT", "FROM", "TO", "KIND", "STATUS", "MESSAGE", "PAYLOAD"],
    page.items.map((m) => [
      time(m.sentAt),
      handle(m.fromUsername),
      handle(m.toUsername),
      kindName(m.kind),
      statusName(m.status) || "-",
      m.messageId,
      clip(JSON.stringify(m.payload ?? {})),
    ]),
  );
  more(page.nextCursor);
}

function more(cursor: string): void {
  if (cursor) out(`more: --cursor ${cursor}`);
}
