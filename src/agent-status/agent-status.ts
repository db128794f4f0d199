import type { Kysely } from "kysely";
import type { Principal } from "../auth/index.js";
import { invalidArgument } from "../errors.js";
import { messageCountsFor } from "../messaging/index.js";
import { decodePageToken, encodePageToken, pageSize, positionString } from "../paging/index.js";
import { type AccountRef, type ProfileRecord, findVisibleProfile, profileQuery, toProfile, visibleTo } from "../registry/index.js";
import { type HostedAgentInfo, hostedAgentInfo, hostedAgentsInState } from "../sessions/index.js";
import type { Database } from "../store/schema.js";

// Agent status in AgentConnect's shape (its GET /agents/status/{id} and GET /agents/list). External agents are
// active while they have a live session. Hosted agents (chat sessions' AI agents) are online while their
// session is active; the sessions domain adds their provider, model, cooldown and active conversations.

export type AgentState = "active" | "inactive" | "cooldown" | "error";

export interface AgentStatusRecord {
  accountId: string;
  username: string;
  agentId: string;
  agentType: "external" | "hosted";
  name: string;
  status: AgentState;
  lastActive: Date | null;
  capabilities: string[];
  interactionModes: string[];
  ownerId: string;
  owner: string;
  isRunning: boolean;
  messageCount: number;
  provider: string;
  model: string;
  cooldownUntil: Date | null;
  activeConversations: number;
  extra: Record<string, unknown>;
}

export async function getAgentStatus(db: Kysely<Database>, viewer: Principal, ref: AccountRef): Promise<AgentStatusRecord> {
  const profile = await findVisibleProfile(db, viewer, ref);
  const counts = await messageCountsFor(db, [profile.accountId]);
  const hosted = profile.agentType === "hosted" ? await hostedAgentInfo(db, [profile.accountId]) : new Map<string, HostedAgentInfo>();
  return toStatus(profile, counts.get(profile.accountId) ?? 0, hosted.get(profile.accountId));
}

export interface AgentListing {
  agents: AgentStatusRecord[];
  totalCount: number;
  userOwnedCount: number;
  nextPageToken: string;
}

export async function listAgents(
  db: Kysely<Database>,
  viewer: Principal,
  request: {
    pageSize: number;
    pageToken: string;
    ownedOnly: boolean;
    /** Unset: any state. */
    state?: AgentState | undefined;
    /** Unset: any type. */
    agentType?: "external" | "hosted" | undefined;
  },
): Promise<AgentListing> {
  const limit = pageSize(request.pageSize, 50, 500);
  const position = decodePageToken("list_agents", request.pageToken);
  const after = position && positionString(position, "u");

  let filtered = db.selectFrom(profileQuery(db).where(visibleTo(viewer)).as("p")).selectAll();
  if (request.ownedOnly) filtered = filtered.where("p.owner_user_id", "=", viewer.userId);
  if (request.agentType !== undefined) filtered = filtered.where("p.agent_type", "=", request.agentType);
  switch (request.state) {
    case undefined:
      break;
    case "active":
      // Online, except hosted agents that are cooling down or failing (those have states of their own).
      filtered = filtered
        .where("p.session_count", ">", 0)
        .where("p.account_id", "not in", hostedAgentsInState(db, "cooldown"))
        .where("p.account_id", "not in", hostedAgentsInState(db, "error"));
      break;
    case "inactive":
      filtered = filtered.where((eb) => eb.or([eb("p.session_count", "=", 0), eb("p.session_count", "is", null)]));
      break;
    // Only hosted agents cool down or fail.
    case "cooldown":
    case "error":
      filtered = filtered.where("p.account_id", "in", hostedAgentsInState(db, request.state));
      break;
  }

  const totals = await db
    .selectFrom(filtered.as("f"))
    .select((eb) => [
      eb.fn.countAll<number>().as("total"),
      eb.fn.count<number>("f.account_id").filterWhere("f.owner_user_id", "=", viewer.userId).as("owned"),
    ])
    .executeTakeFirstOrThrow();
  const pageQuery = after === undefined ? filtered : filtered.where("p.username", ">", after);
  const rows = await pageQuery
    .orderBy("p.username")
    .limit(limit + 1)
    .execute();
  const page = rows.slice(0, limit).map(toProfile);
  const counts = await messageCountsFor(
    db,
    page.map((p) => p.accountId),
  );
  const hosted = await hostedAgentInfo(
    db,
    page.filter((p) => p.agentType === "hosted").map((p) => p.accountId),
  );
  const last = page.at(-1);
  return {
    agents: page.map((p) => toStatus(p, counts.get(p.accountId) ?? 0, hosted.get(p.accountId))),
    totalCount: Number(totals.total),
    userOwnedCount: Number(totals.owned),
    nextPageToken: rows.length > limit && last ? encodePageToken("list_agents", { u: last.username }) : "",
  };
}

function toStatus(profile: ProfileRecord, messageCount: number, hosted: HostedAgentInfo | undefined): AgentStatusRecord {
  // A hosted agent runs while its chat session is active; its presence session says the same, but the
  // session's own state also knows about cooldowns and provider failures.
  const running = hosted ? hosted.running && profile.online : profile.online;
  return {
    accountId: profile.accountId,
    username: profile.username,
    agentId: profile.agentId,
    agentType: profile.agentType,
    name: profile.displayName,
    status: !running ? "inactive" : (hosted?.state ?? "active"),
    lastActive: latest(profile.lastSeenAt, hosted?.lastActive ?? null),
    capabilities: profile.capabilities,
    interactionModes: hosted?.interactionModes ?? [],
    ownerId: profile.ownerUserId,
    owner: profile.owner,
    isRunning: running,
    messageCount,
    provider: hosted?.provider ?? "",
    model: hosted?.model ?? "",
    cooldownUntil: hosted?.cooldownUntil ?? null,
    activeConversations: hosted?.activeConversations ?? 0,
    extra: profile.metadata,
  };
}

function latest(a: Date | null, b: Date | null): Date | null {
  if (a === null) return b;
  if (b === null) return a;
  return a > b ? a : b;
}

/** The agent-status read model of one gateway: spans the registry, messaging and sessions, owned by none of them. */
export class AgentStatus {
  constructor(private readonly db: Kysely<Database>) {}

  async get(viewer: Principal, ref: AccountRef | undefined): Promise<AgentStatusRecord> {
    if (!ref) throw invalidArgument("agent", "give account_id or username");
    return getAgentStatus(this.db, viewer, ref);
  }

  list(viewer: Principal, request: Parameters<typeof listAgents>[2]): Promise<AgentListing> {
    return listAgents(this.db, viewer, request);
  }
}
