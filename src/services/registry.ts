import { type JsonObject, create } from "@bufbuild/protobuf";
import { timestampFromDate, timestampNow } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import {
  AgentState,
  type Profile,
  ProfileSchema,
  type PresenceSession,
  PresenceSessionSchema,
  Visibility,
} from "../../gen/agentnet/v1/common_pb.js";
import {
  type AgentStatus,
  AgentStatusMetadataSchema,
  AgentStatusSchema,
  AgentType,
  PresenceEventType,
  RegistryService,
  type WatchPresenceResponse,
  WatchPresenceResponseSchema,
} from "../../gen/agentnet/v1/registry_pb.js";
import type { AgentStatus as AgentStatusReads, AgentState as DomainAgentState, AgentStatusRecord } from "../agent-status/index.js";
import type { AccountRef, Visibility as DomainVisibility, ProfileRecord, Registry, SessionRecord, WatchItem } from "../registry/index.js";
import { principalOf } from "../server/context.js";
import type { Limits } from "./limits.js";

/** RegistryService: decode, call the registry domain, encode. */
export function registerRegistryService(
  router: ConnectRouter,
  registry: Registry,
  agentStatus: AgentStatusReads,
  limits: Pick<Limits, "register">,
): void {
  router.service(RegistryService, {
    async register(req, ctx) {
      const caller = principalOf(ctx);
      await limits.register.consume(caller.userId);
      const result = await registry.register(caller, {
        agentId: req.agentId,
        displayName: req.displayName,
        username: req.username,
        capabilities: req.capabilities,
        metadata: req.metadata,
        bio: req.bio,
        visibility: visibilityIn(req.visibility),
        publicKey: req.publicKey,
        sessionMetadata: req.sessionMetadata,
      });
      return {
        accountId: result.profile.accountId,
        username: result.profile.username,
        sessionTag: result.session.sessionTag,
        heartbeatInterval: registry.heartbeatIntervalSeconds,
        ttlSeconds: registry.ttlSeconds,
        profile: toProfile(result.profile),
        created: result.created,
      };
    },

    async heartbeat(req, ctx) {
      const lease = await registry.heartbeat(principalOf(ctx), req.sessionTag);
      return {
        accountId: lease.accountId,
        sessionTag: lease.sessionTag,
        expiresAt: timestampFromDate(lease.expiresAt),
        heartbeatInterval: registry.heartbeatIntervalSeconds,
      };
    },

    async deregister(req, ctx) {
      const ended = await registry.deregister(principalOf(ctx), req.sessionTag);
      return { accountOnline: ended.accountOnline };
    },

    async listOnline(req, ctx) {
      const page = await registry.listOnline(principalOf(ctx), req);
      return { agents: page.items.map(toProfile), nextPageToken: page.nextPageToken };
    },

    async searchAgents(req, ctx) {
      const page = await registry.searchAgents(principalOf(ctx), req);
      return { agents: page.items.map(toProfile), nextPageToken: page.nextPageToken };
    },

    async getProfile(req, ctx) {
      const profile = await registry.getProfile(principalOf(ctx), accountRef(req.account));
      return { profile: toProfile(profile) };
    },

    async updateProfile(req, ctx) {
      const profile = await registry.updateProfile(principalOf(ctx), {
        accountId: req.accountId,
        paths: req.updateMask?.paths ?? [],
        displayName: req.displayName,
        bio: req.bio,
        capabilities: req.capabilities,
        metadata: req.metadata,
        visibility: req.visibility === undefined ? undefined : visibilityIn(req.visibility),
        publicKey: req.publicKey,
      });
      return { profile: toProfile(profile) };
    },

    async resolveAccount(req) {
      return registry.resolveAccount(req.username);
    },

    async getAgentStatus(req, ctx) {
      return { agent: toAgentStatus(await agentStatus.get(principalOf(ctx), accountRef(req.agent))) };
    },

    async listAgents(req, ctx) {
      const listing = await agentStatus.list(principalOf(ctx), {
        pageSize: req.pageSize,
        pageToken: req.pageToken,
        ownedOnly: req.ownedOnly,
        state: stateIn(req.state),
        agentType: agentTypeIn(req.agentType),
      });
      return {
        agents: listing.agents.map(toAgentStatus),
        timestamp: timestampNow(),
        totalCount: listing.totalCount,
        userOwnedCount: listing.userOwnedCount,
        nextPageToken: listing.nextPageToken,
      };
    },

    async *watchPresence(req, ctx) {
      const filter = { accountIds: req.accountIds, capability: req.capability, includeSnapshot: req.includeSnapshot };
      for await (const item of registry.watchPresence(principalOf(ctx), filter, ctx.signal)) yield toWatchResponse(item);
    },
  });
}

function accountRef(oneof: { case: "accountId" | "username"; value: string } | { case: undefined }): AccountRef | undefined {
  switch (oneof.case) {
    case "accountId":
      return { accountId: oneof.value };
    case "username":
      return { username: oneof.value };
    default:
      return undefined;
  }
}

function visibilityIn(v: Visibility): DomainVisibility | undefined {
  switch (v) {
    case Visibility.PUBLIC:
      return "public";
    case Visibility.PRIVATE:
      return "private";
    default:
      return undefined;
  }
}

function stateIn(s: AgentState): DomainAgentState | undefined {
  switch (s) {
    case AgentState.ACTIVE:
      return "active";
    case AgentState.INACTIVE:
      return "inactive";
    case AgentState.COOLDOWN:
      return "cooldown";
    case AgentState.ERROR:
      return "error";
    default:
      return undefined;
  }
}

function agentTypeIn(t: AgentType): "external" | "hosted" | undefined {
  switch (t) {
    case AgentType.EXTERNAL:
      return "external";
    case AgentType.HOSTED:
      return "hosted";
    default:
      return undefined;
  }
}

const STATES: Record<DomainAgentState, AgentState> = {
  active: AgentState.ACTIVE,
  inactive: AgentState.INACTIVE,
  cooldown: AgentState.COOLDOWN,
  error: AgentState.ERROR,
};

const EVENT_TYPES = {
  online: PresenceEventType.ONLINE,
  offline: PresenceEventType.OFFLINE,
  updated: PresenceEventType.UPDATED,
} as const;

function toProfile(p: ProfileRecord): Profile {
  return create(ProfileSchema, {
    accountId: p.accountId,
    username: p.username,
    displayName: p.displayName,
    agentId: p.agentId,
    bio: p.bio,
    capabilities: p.capabilities,
    metadata: p.metadata as JsonObject,
    visibility: p.visibility === "private" ? Visibility.PRIVATE : Visibility.PUBLIC,
    online: p.online,
    sessionCount: p.sessionCount,
    lastSeenAt: p.lastSeenAt === null ? undefined : timestampFromDate(p.lastSeenAt),
    owner: p.owner,
    publicKey: p.publicKey ?? new Uint8Array(),
    createdAt: timestampFromDate(p.createdAt),
    updatedAt: timestampFromDate(p.updatedAt),
    sessions: p.sessions.map(toSession),
  });
}

function toSession(s: SessionRecord): PresenceSession {
  return create(PresenceSessionSchema, {
    sessionTag: s.sessionTag,
    accountId: s.accountId,
    agentId: s.agentId,
    gatewayId: s.gatewayId,
    connectedAt: timestampFromDate(s.connectedAt),
    lastSeenAt: timestampFromDate(s.lastSeenAt),
    // A held session has no deadline while its stream stays open.
    expiresAt: s.subscribed ? undefined : timestampFromDate(s.expiresAt),
    subscribed: s.subscribed,
    metadata: s.metadata as JsonObject,
  });
}

function toAgentStatus(a: AgentStatusRecord): AgentStatus {
  return create(AgentStatusSchema, {
    accountId: a.accountId,
    username: a.username,
    agentId: a.agentId,
    agentType: a.agentType === "hosted" ? AgentType.HOSTED : AgentType.EXTERNAL,
    name: a.name,
    status: STATES[a.status],
    lastActive: a.lastActive === null ? undefined : timestampFromDate(a.lastActive),
    capabilities: a.capabilities,
    interactionModes: a.interactionModes,
    ownerId: a.ownerId,
    owner: a.owner,
    isRunning: a.isRunning,
    messageCount: BigInt(a.messageCount),
    metadata: create(AgentStatusMetadataSchema, {
      provider: a.provider,
      model: a.model,
      cooldownUntil: a.cooldownUntil === null ? undefined : timestampFromDate(a.cooldownUntil),
      activeConversations: a.activeConversations,
    }),
    extra: a.extra as JsonObject,
  });
}

function toWatchResponse(item: WatchItem): WatchPresenceResponse {
  switch (item.kind) {
    case "presence": {
      const e = item.event;
      return create(WatchPresenceResponseSchema, {
        event: {
          case: "presence",
          value: {
            type: EVENT_TYPES[e.type],
            account: toProfile(e.account),
            session: e.session === null ? undefined : toSession(e.session),
            eventAt: timestampFromDate(e.eventAt),
            reason: e.reason,
            snapshot: e.snapshot,
          },
        },
      });
    }
    case "synced":
      return create(WatchPresenceResponseSchema, { event: { case: "synced", value: { onlineCount: item.onlineCount } } });
    case "keepalive":
      return create(WatchPresenceResponseSchema, { event: { case: "keepalive", value: { serverTime: timestampFromDate(item.at) } } });
  }
}
