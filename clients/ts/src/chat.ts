// Chat sessions (SessionService): a user's conversations with agents agentnet hosts (LLM providers, or the built-in
// echo), and agent-with-agent conversations it runs. The session is the user's, not an agent account's, so these
// verbs live on the client.
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  type AgentConfigSchema,
  type ChatSession,
  type CreateSessionRequestSchema,
  type ProviderInfo,
  type SendSessionMessageResponse,
  type SessionEvent,
  SessionEventType,
  SessionStatus,
  SessionType,
} from "@agentnet/gen/agentnet/v1/session_pb.js";
import { reopening } from "./reopening.js";
import type { Services } from "./services.js";

export type ChatSessionTypeName = "human_agent" | "agent_agent";

export interface CreateChatSessionOptions
  extends Omit<MessageInitShape<typeof CreateSessionRequestSchema>, "sessionType" | "agents" | "$typeName"> {
  /** Default "human_agent": a person (the caller) talks to the agents. */
  type?: ChatSessionTypeName;
  /** The hosted agents by name, e.g. `{ helper: { provider: "echo" } }`. */
  agents: Record<string, MessageInitShape<typeof AgentConfigSchema>>;
}

export interface SendChatMessageOptions {
  /** Wait for the agent's complete answer and return it as `response`. */
  waitForResponse?: boolean;
  /** Agent-agent sessions: speak as this agent. */
  asAgent?: string;
  /** Address one agent of the session. */
  toAgent?: string;
  /** Sending again with the same key returns the first send's result. */
  idempotencyKey?: string;
}

export interface StreamChatSessionOptions {
  /** Replay events after this seq (0: from the start); a resumed stream passes the last seq it saw. */
  afterSeq?: number | bigint;
  signal?: AbortSignal;
}

export interface ListChatSessionsOptions {
  /** Admins: every user's sessions. */
  all?: boolean;
  status?: "initializing" | "active" | "stopped" | "expired";
  type?: ChatSessionTypeName;
}

const TYPES: Record<ChatSessionTypeName, SessionType> = {
  human_agent: SessionType.HUMAN_AGENT,
  agent_agent: SessionType.AGENT_AGENT,
};
const STATUSES = {
  initializing: SessionStatus.INITIALIZING,
  active: SessionStatus.ACTIVE,
  stopped: SessionStatus.STOPPED,
  expired: SessionStatus.EXPIRED,
} as const;

export function sessionEventTypeName(type: SessionEventType): string {
  return (SessionEventType[type] ?? "").toLowerCase();
}

export async function createChatSession(services: Services, o: CreateChatSessionOptions): Promise<ChatSession> {
  const { type, agents, ...rest } = o;
  const res = await services.sessions.createSession({ ...rest, sessionType: TYPES[type ?? "human_agent"], agents });
  return required(res.session, "CreateSession");
}

export async function getChatSession(services: Services, sessionId: string): Promise<ChatSession> {
  return required((await services.sessions.getSession({ sessionId })).session, "GetSession");
}

export async function listChatSessions(services: Services, o: ListChatSessionsOptions = {}): Promise<ChatSession[]> {
  const out: ChatSession[] = [];
  let pageToken = "";
  do {
    const res = await services.sessions.listSessions({
      all: o.all ?? false,
      status: o.status ? STATUSES[o.status] : SessionStatus.UNSPECIFIED,
      sessionType: o.type ? TYPES[o.type] : SessionType.UNSPECIFIED,
      pageSize: 100,
      pageToken,
    });
    out.push(...res.sessions);
    pageToken = res.nextPageToken;
  } while (pageToken !== "");
  return out;
}

export async function deleteChatSession(services: Services, sessionId: string): Promise<void> {
  await services.sessions.deleteSession({ sessionId });
}

export function sendChatMessage(
  services: Services,
  sessionId: string,
  content: string,
  o: SendChatMessageOptions = {},
): Promise<SendSessionMessageResponse> {
  return services.sessions.sendSessionMessage({
    sessionId,
    content,
    waitForResponse: o.waitForResponse ?? false,
    asAgent: o.asAgent ?? "",
    toAgent: o.toAgent ?? "",
    idempotencyKey: o.idempotencyKey ?? "",
  });
}

/**
 * A session's events in seq order: the stored ones after `afterSeq`, then live ones (an answer arrives as DELTA
 * pieces as it is generated, then one RESPONSE with the whole text). Keepalives are left out. A dropped stream is
 * reopened after the last seq seen, so nothing is missed or repeated. Ends after the session's STOP event, when
 * `signal` aborts, or with the error when the session is gone.
 */
export async function* streamChatSession(
  services: Services,
  sessionId: string,
  o: StreamChatSessionOptions = {},
): AsyncGenerator<SessionEvent> {
  let afterSeq = BigInt(o.afterSeq ?? 0);
  for await (const { event } of reopening(() => services.sessions.streamSession({ sessionId, afterSeq }, { signal: o.signal }), o.signal)) {
    if (!event || event.type === SessionEventType.PING) continue;
    if (event.seq > afterSeq) afterSeq = event.seq;
    yield event;
    if (event.type === SessionEventType.STOP) return;
  }
}

export async function listChatProviders(services: Services): Promise<ProviderInfo[]> {
  return (await services.sessions.listProviders({})).providers;
}

function required<T>(value: T | undefined, rpc: string): T {
  if (value === undefined) throw new Error(`the server answered ${rpc} without the session`);
  return value;
}
