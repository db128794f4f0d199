import { type JsonObject, create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { AgentState } from "../../gen/agentnet/v1/common_pb.js";
import {
  type ChatSession,
  ChatSessionSchema,
  ProviderKind,
  SessionAgentSchema,
  type SessionEvent,
  SessionEventSchema,
  SessionEventType,
  SessionRole,
  SessionService,
  SessionStatus,
  SessionType,
} from "../../gen/agentnet/v1/session_pb.js";
import { principalOf } from "../server/context.js";
import type {
  AgentStateName,
  ChatProvider,
  EventTypeName,
  RoleName,
  SessionEventRecord,
  SessionRecord,
  SessionStatusName,
  Sessions,
  SessionTypeName,
  StreamItem,
} from "../sessions/index.js";
import type { Limits } from "./limits.js";

/** SessionService: decode, rate-limit per user, call the sessions domain, encode. */
export function registerSessionService(
  router: ConnectRouter,
  sessions: Sessions,
  limits: Pick<Limits, "sessionCreate" | "sessionQuery" | "sessionMessage">,
): void {
  router.service(SessionService, {
    async createSession(req, ctx) {
      const caller = principalOf(ctx);
      await limits.sessionCreate.consume(caller.userId);
      const session = await sessions.create(caller, {
        sessionType: typeIn(req.sessionType),
        agents: Object.fromEntries(
          Object.entries(req.agents).map(([name, a]) => [
            name,
            {
              provider: a.provider.trim(),
              model: a.model,
              capabilities: a.capabilities,
              personality: a.personality,
              metadata: a.metadata,
              temperature: a.temperature,
              maxOutputTokens: a.maxOutputTokens,
            },
          ]),
        ),
        interactionModes: req.interactionModes,
        metadata: req.metadata,
        maxTurns: req.maxTurns,
        goal: req.goal,
        openingMessage: req.openingMessage,
        firstSpeaker: req.firstSpeaker,
        stopWord: req.stopWord,
        tokensPerMinute: req.tokensPerMinute,
      });
      return { session: toChatSession(session) };
    },

    async getSession(req, ctx) {
      const caller = principalOf(ctx);
      await limits.sessionQuery.consume(caller.userId);
      return { session: toChatSession(await sessions.get(caller, req.sessionId)) };
    },

    async listSessions(req, ctx) {
      const caller = principalOf(ctx);
      await limits.sessionQuery.consume(caller.userId);
      const page = await sessions.list(caller, {
        pageSize: req.pageSize,
        pageToken: req.pageToken,
        all: req.all,
        status: statusIn(req.status),
        sessionType: typeIn(req.sessionType),
      });
      return { sessions: page.items.map(toChatSession), nextPageToken: page.nextPageToken };
    },

    async deleteSession(req, ctx) {
      await sessions.delete(principalOf(ctx), req.sessionId);
      return { sessionId: req.sessionId };
    },

    async sendSessionMessage(req, ctx) {
      const caller = principalOf(ctx);
      await limits.sessionMessage.consume(caller.userId);
      const deadline = ctx.timeoutMs();
      const result = await sessions.send(
        caller,
        {
          sessionId: req.sessionId,
          content: req.content,
          asAgent: req.asAgent.trim(),
          toAgent: req.toAgent.trim(),
          metadata: req.metadata,
          idempotencyKey: req.idempotencyKey,
          waitForResponse: req.waitForResponse,
          waitMs: deadline === undefined ? undefined : Math.max(1, deadline - 50),
        },
        ctx.signal,
      );
      return {
        seq: BigInt(result.seq),
        messageId: result.messageId,
        timestamp: timestampFromDate(result.timestamp),
        response: result.response && toEvent(result.response),
      };
    },

    async *streamSession(req, ctx) {
      const caller = principalOf(ctx);
      await limits.sessionQuery.consume(caller.userId);
      for await (const item of sessions.stream(caller, req.sessionId, Number(req.afterSeq), ctx.signal)) {
        yield { event: toStreamEvent(req.sessionId, item) };
      }
    },

    async listProviders(req) {
      const page = sessions.listProviders(req);
      return { providers: page.items.map(toProviderInfo), nextPageToken: page.nextPageToken };
    },
  });
}

const TYPES: Record<SessionTypeName, SessionType> = { human_agent: SessionType.HUMAN_AGENT, agent_agent: SessionType.AGENT_AGENT };
const STATUSES: Record<SessionStatusName, SessionStatus> = {
  active: SessionStatus.ACTIVE,
  stopped: SessionStatus.STOPPED,
  expired: SessionStatus.EXPIRED,
};
const EVENT_TYPES: Record<EventTypeName, SessionEventType> = {
  text: SessionEventType.TEXT,
  response: SessionEventType.RESPONSE,
  delta: SessionEventType.DELTA,
  info: SessionEventType.INFO,
  system: SessionEventType.SYSTEM,
  error: SessionEventType.ERROR,
  cooldown: SessionEventType.COOLDOWN,
  stop: SessionEventType.STOP,
};
const ROLES: Record<RoleName, SessionRole> = {
  "": SessionRole.UNSPECIFIED,
  user: SessionRole.USER,
  assistant: SessionRole.ASSISTANT,
  system: SessionRole.SYSTEM,
};
const AGENT_STATES: Record<AgentStateName, AgentState> = {
  active: AgentState.ACTIVE,
  inactive: AgentState.INACTIVE,
  cooldown: AgentState.COOLDOWN,
  error: AgentState.ERROR,
};
const KINDS = { echo: ProviderKind.ECHO, openai_compatible: ProviderKind.OPENAI_COMPATIBLE, anthropic: ProviderKind.ANTHROPIC } as const;

function typeIn(t: SessionType): SessionTypeName | undefined {
  return t === SessionType.HUMAN_AGENT ? "human_agent" : t === SessionType.AGENT_AGENT ? "agent_agent" : undefined;
}

function statusIn(s: SessionStatus): SessionStatusName | "initializing" | undefined {
  for (const [name, value] of Object.entries(STATUSES)) if (value === s) return name as SessionStatusName;
  return s === SessionStatus.INITIALIZING ? "initializing" : undefined;
}

function toChatSession(s: SessionRecord): ChatSession {
  return create(ChatSessionSchema, {
    sessionId: s.sessionId,
    sessionType: TYPES[s.sessionType],
    status: STATUSES[s.status],
    createdAt: timestampFromDate(s.createdAt),
    updatedAt: timestampFromDate(s.updatedAt),
    expiresAt: timestampFromDate(s.expiresAt),
    agents: Object.fromEntries(
      s.agents.map((a) => [
        a.name,
        create(SessionAgentSchema, {
          name: a.name,
          accountId: a.accountId,
          username: a.username,
          provider: a.provider,
          model: a.model,
          capabilities: a.capabilities,
          personality: a.personality,
          status: AGENT_STATES[a.status],
          cooldownUntil: a.cooldownUntil === null ? undefined : timestampFromDate(a.cooldownUntil),
          metadata: a.metadata as JsonObject,
          messageCount: BigInt(a.messageCount),
        }),
      ]),
    ),
    interactionModes: s.interactionModes,
    metadata: s.metadata as JsonObject,
    maxTurns: s.maxTurns,
    turnCount: s.turnCount,
    goal: s.goal,
    threadId: s.threadId,
    owner: s.owner,
    lastSeq: BigInt(s.lastSeq),
    stopReason: s.stopReason,
    lastActivityAt: timestampFromDate(s.lastActivityAt),
  });
}

function toEvent(e: SessionEventRecord): SessionEvent {
  return create(SessionEventSchema, {
    seq: BigInt(e.seq),
    type: EVENT_TYPES[e.type],
    content: e.content,
    sender: e.sender,
    receiver: e.receiver,
    timestamp: timestampFromDate(e.timestamp),
    metadata: e.metadata as JsonObject,
    sessionId: e.sessionId,
    role: ROLES[e.role],
    responseId: e.responseId,
    turn: e.turn,
    cooldownUntil: e.cooldownUntil === null ? undefined : timestampFromDate(e.cooldownUntil),
    reason: e.reason,
    messageId: e.messageId,
  });
}

function toStreamEvent(sessionId: string, item: StreamItem): SessionEvent {
  if (item.type !== "ping") return toEvent(item);
  return create(SessionEventSchema, { seq: 0n, type: SessionEventType.PING, sessionId, timestamp: timestampFromDate(item.at) });
}

function toProviderInfo(p: ChatProvider) {
  return { name: p.name, kind: KINDS[p.kind], configured: p.configured, defaultModel: p.defaultModel, models: [...p.models] };
}
