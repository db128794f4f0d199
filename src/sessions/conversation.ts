import type { Kysely, Selectable } from "kysely";
import type { Database } from "../store/schema.js";
import type { ChatMessage } from "./providers/types.js";
import type { ChatSessionAgentsTable, ChatSessionsTable } from "./tables.js";

// What an agent is told on its turn: instructions built from its personality and the session's settings, and
// the conversation so far from its own point of view (its answers are `assistant`, everything else `user`).

/** The word an agent says when the session's goal is reached (it is told so in its instructions). */
export const GOAL_REACHED_MARKER = "GOAL_REACHED";
/** Characters per token for estimates when a provider reports no usage (the seed's estimate). */
export const CHARS_PER_TOKEN = 4;
/** How much history an agent is shown at most, newest kept. */
const HISTORY_MESSAGES = 40;
const HISTORY_CHARS = 48_000;

export interface Conversation {
  system: string;
  messages: ChatMessage[];
  /** Id of the thread message the turn answers (the latest one addressed to the agent), for the answer's parent. */
  answersMessageId: string;
}

export function estimateTokens(chars: number): number {
  return Math.ceil(chars / CHARS_PER_TOKEN);
}

export async function conversationFor(
  db: Kysely<Database>,
  session: Selectable<ChatSessionsTable>,
  agent: Selectable<ChatSessionAgentsTable>,
  agents: Selectable<ChatSessionAgentsTable>[],
): Promise<Conversation> {
  const rows = await db
    .selectFrom("chat_session_events")
    .select(["seq", "type", "sender", "receiver", "content", "message_id"])
    .where("session_id", "=", session.session_id)
    .where("type", "in", ["text", "response"])
    .orderBy("seq", "desc")
    .limit(HISTORY_MESSAGES)
    .execute();
  const messages: ChatMessage[] = [];
  let chars = 0;
  let answersMessageId = "";
  for (const row of rows) {
    if (chars + row.content.length > HISTORY_CHARS && messages.length > 0) break;
    chars += row.content.length;
    const own = row.sender === agent.name;
    if (!own && answersMessageId === "" && row.receiver === agent.name) answersMessageId = row.message_id;
    messages.unshift({ role: own ? "assistant" : "user", content: row.content });
  }
  if (messages.length === 0) messages.push({ role: "user", content: "Hello." });
  return { system: instructions(session, agent, agents), messages, answersMessageId };
}

function instructions(session: Selectable<ChatSessionsTable>, agent: Selectable<ChatSessionAgentsTable>, agents: Selectable<ChatSessionAgentsTable>[]): string {
  const lines = [`You are "${agent.name}", an AI agent in a chat session hosted by agentnet.`];
  if (agent.personality) lines.push(`Personality and instructions: ${agent.personality}`);
  if (session.session_type === "human_agent") {
    lines.push(`You are talking with a person, ${session.owner_username}.`);
  } else {
    const other = agents.find((a) => a.name !== agent.name);
    lines.push(`You are talking with another AI agent, "${other?.name ?? "the other agent"}". Reply to its last message; keep answers short.`);
    if (session.stop_word) lines.push(`To end the conversation, include ${session.stop_word} in your answer.`);
  }
  if (session.interaction_modes.length > 0) lines.push(`Interaction modes: ${session.interaction_modes.join(", ")}.`);
  if (session.goal) lines.push(`Goal of the conversation: ${session.goal}. When the goal is reached, include ${GOAL_REACHED_MARKER} in your answer.`);
  return lines.join("\n");
}
