import { type Kysely, type Selectable, type Transaction, sql } from "kysely";
import type { Database } from "../store/schema.js";
import type { ChatMessage } from "./providers/types.js";
import type { ChatSessionAgentsTable, ChatSessionsTable } from "./tables.js";

// What an agent is told on its turn: instructions built from its personality and the session's settings, and
// the conversation so far from its own point of view (its answers are `assistant`, everything else `user`).
//
// A turn answers one message, and the conversation it is shown is the session's messages as a thread, cut right
// after that message. Messages are not in seq order: an answer is stored when it is finished, after whatever was
// sent while it was being written, yet it belongs right after the message it answers (its in_reply_to). So the
// thread puts messages sent by someone (`text`) at their seq position and each answer (`response`) right after
// the message it answers, answers to answers after those (AGENT_AGENT), depth first. Read in seq order instead,
// a message sent during an answer would sit before that answer, and the next turn would be asked to go on from
// its own reply.

/** The word an agent says when the session's goal is reached (it is told so in its instructions). */
export const GOAL_REACHED_MARKER = "GOAL_REACHED";
/** Characters per token for estimates when a provider reports no usage (the seed's estimate). */
export const CHARS_PER_TOKEN = 4;
/** How much history an agent is shown at most, newest kept. */
const HISTORY_MESSAGES = 40;
const HISTORY_CHARS = 48_000;
/**
 * Messages read to build the thread: more than are shown, because a turn may answer a message that was queued
 * behind others and the answers anchored before it may have been stored after it.
 */
const THREAD_WINDOW = HISTORY_MESSAGES * 4;

type SessionRow = Selectable<ChatSessionsTable>;
type AgentRow = Selectable<ChatSessionAgentsTable>;
type Db = Kysely<Database> | Transaction<Database>;

/** A stored message (a `text` or `response` event) as the thread sees it. */
export interface ThreadMessage {
  seq: number;
  type: "text" | "response";
  sender: string;
  receiver: string;
  content: string;
  messageId: string;
  /** The seq of the message a response answers; 0 for texts (and answers stored without one). */
  inReplyTo: number;
}

export interface Conversation {
  system: string;
  messages: ChatMessage[];
  /** The message the turn answers. */
  answers: ThreadMessage;
}

export function estimateTokens(chars: number): number {
  return Math.ceil(chars / CHARS_PER_TOKEN);
}

/**
 * The message an agent's turn answers, if any.
 *
 * First the oldest message sent to it (a `text`: from the person, or posted as the other agent) that has no
 * answer yet — a `response` or an `error` naming it in in_reply_to — so queued messages are answered one by one,
 * in order. In AGENT_AGENT sessions, when there is none, the turn goes on with the conversation: it answers the
 * last message addressed to the agent in thread order, which is the other agent's latest answer.
 */
export async function messageToAnswer(db: Db, session: SessionRow, agent: AgentRow): Promise<ThreadMessage | undefined> {
  const text = await unansweredTexts(db, session.session_id, [agent.name])
    .select(["t.seq", "t.type", "t.sender", "t.receiver", "t.content", "t.message_id", "t.metadata"])
    .executeTakeFirst();
  if (text) return toThreadMessage(text);
  if (session.session_type !== "agent_agent") return undefined;
  const thread = threadOrder(await recentMessages(db, session.session_id));
  const answered = new Set(thread.map((m) => m.inReplyTo));
  return thread.findLast((m) => m.receiver === agent.name && m.sender !== agent.name && !answered.has(m.seq));
}

/** The agent (of `agents`) with the oldest message sent to it that has no answer yet, if any has one. */
export async function agentWithUnanswered(db: Db, sessionId: string, agents: string[]): Promise<string | undefined> {
  if (agents.length === 0) return undefined;
  const row = await unansweredTexts(db, sessionId, agents).select("t.receiver").executeTakeFirst();
  return row?.receiver;
}

/**
 * The oldest `text` sent to one of `agents` that no `response` or `error` names in in_reply_to (select the columns
 * you need). Bounded by the session: sessions are short-lived and rate-limited, and texts are few next to events.
 */
function unansweredTexts(db: Db, sessionId: string, agents: string[]) {
  return db
    .selectFrom("chat_session_events as t")
    .where("t.session_id", "=", sessionId)
    .where("t.type", "=", "text")
    .where("t.receiver", "in", agents)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom("chat_session_events as r")
            .select("r.seq")
            .whereRef("r.session_id", "=", "t.session_id")
            .where("r.type", "in", ["response", "error"])
            .where(sql<boolean>`(r.metadata->>'in_reply_to') = t.seq::text`),
        ),
      ),
    )
    .orderBy("t.seq")
    .limit(1);
}

export async function conversationFor(
  db: Db,
  session: SessionRow,
  agent: AgentRow,
  agents: AgentRow[],
  answers: ThreadMessage,
): Promise<Conversation> {
  const recent = await recentMessages(db, session.session_id);
  if (!recent.some((m) => m.seq === answers.seq)) recent.push(answers);
  const thread = threadOrder(recent);
  // The conversation as it stood up to and including the message answered; what follows it in the thread
  // (later messages, and answers to them) is not part of what this turn answers.
  const upTo = thread.slice(0, thread.findIndex((m) => m.seq === answers.seq) + 1);
  const messages: ChatMessage[] = [];
  let chars = 0;
  for (let i = upTo.length - 1; i >= 0 && messages.length < HISTORY_MESSAGES; i--) {
    const m = upTo[i]!;
    if (chars + m.content.length > HISTORY_CHARS && messages.length > 0) break;
    chars += m.content.length;
    messages.unshift({ role: m.sender === agent.name ? "assistant" : "user", content: m.content });
  }
  return { system: instructions(session, agent, agents), messages, answers };
}

async function recentMessages(db: Db, sessionId: string): Promise<ThreadMessage[]> {
  const rows = await db
    .selectFrom("chat_session_events")
    .select(["seq", "type", "sender", "receiver", "content", "message_id", "metadata"])
    .where("session_id", "=", sessionId)
    .where("type", "in", ["text", "response"])
    .orderBy("seq", "desc")
    .limit(THREAD_WINDOW)
    .execute();
  return rows.map(toThreadMessage);
}

function toThreadMessage(row: {
  seq: number;
  type: string;
  sender: string;
  receiver: string;
  content: string;
  message_id: string;
  metadata: Record<string, unknown>;
}): ThreadMessage {
  const inReplyTo = row.type === "response" ? Number(row.metadata["in_reply_to"] ?? 0) : 0;
  return {
    seq: Number(row.seq),
    type: row.type === "response" ? "response" : "text",
    sender: row.sender,
    receiver: row.receiver,
    content: row.content,
    messageId: row.message_id,
    inReplyTo: Number.isSafeInteger(inReplyTo) ? inReplyTo : 0,
  };
}

/**
 * Messages in thread order: each answer right after the message it answers (depth first), everything else at
 * its seq position. An answer whose message is not among them (older than the window) keeps its seq position.
 */
export function threadOrder(messages: readonly ThreadMessage[]): ThreadMessage[] {
  const bySeq = [...messages].sort((a, b) => a.seq - b.seq);
  const present = new Set(bySeq.map((m) => m.seq));
  const answers = new Map<number, ThreadMessage[]>();
  const roots: ThreadMessage[] = [];
  for (const m of bySeq) {
    if (m.type === "response" && m.inReplyTo !== m.seq && present.has(m.inReplyTo)) {
      const list = answers.get(m.inReplyTo) ?? [];
      list.push(m);
      answers.set(m.inReplyTo, list);
    } else {
      roots.push(m);
    }
  }
  const out: ThreadMessage[] = [];
  const seen = new Set<number>();
  const stack = [...roots].reverse();
  while (stack.length > 0) {
    const m = stack.pop()!;
    if (seen.has(m.seq)) continue;
    seen.add(m.seq);
    out.push(m);
    const children = answers.get(m.seq);
    if (children) for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return out;
}

function instructions(session: SessionRow, agent: AgentRow, agents: AgentRow[]): string {
  const lines = [`You are "${agent.name}", an AI agent in a chat session hosted by agentnet.`];
  if (agent.personality) lines.push(`Personality and instructions: ${agent.personality}`);
  if (session.session_type === "human_agent") {
    lines.push(`You are talking with a person, ${session.owner_username}.`);
  } else {
    const other = agents.find((a) => a.name !== agent.name);
    lines.push(
      `You are talking with another AI agent, "${other?.name ?? "the other agent"}". Reply to its last message; keep answers short.`,
    );
    if (session.stop_word) lines.push(`To end the conversation, include ${session.stop_word} in your answer.`);
  }
  if (session.interaction_modes.length > 0) lines.push(`Interaction modes: ${session.interaction_modes.join(", ")}.`);
  if (session.goal)
    lines.push(`Goal of the conversation: ${session.goal}. When the goal is reached, include ${GOAL_REACHED_MARKER} in your answer.`);
  return lines.join("\n");
}
