import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Principal } from "../auth/index.js";
import type { VoiceConfig } from "../config.js";
import { DomainError } from "../errors.js";
import { decodePageToken, encodePageToken, pageSize, positionString } from "../paging/index.js";
import type { Database } from "../store/schema.js";
import { AgoraError, type AgentScope, type AgoraConvoAiClient, type SpeakPriority } from "./agora-client.js";
import { type AsrOverrides, buildJoinRequest, type LlmOverrides, type TtsOverrides } from "./join-body.js";
import {
  claimOverdueAgents,
  findAgent,
  findLiveAgentByName,
  insertAgent,
  isLive,
  listAgents,
  updateAgent,
  type VoiceAgentRecord,
} from "./records.js";
import type { VoiceAgentState } from "./tables.js";
import type { VoiceTokens } from "./tokens.js";
import {
  checkChannelName,
  checkIdleTimeout,
  checkMaxDuration,
  checkMaxHistory,
  decimalUid,
  MAX_EXPIRY_SECONDS,
  randomUid,
  uidString,
} from "./validation.js";

/** Who acts on voice agents: a user, or `ANONYMOUS` on the seed's routes when served without credentials. */
export type VoiceCaller = Pick<Principal, "userId" | "username" | "admin">;

/** The owner of agents started through the seed's HTTP routes without credentials (the opt-in setting). */
export const ANONYMOUS: VoiceCaller = { userId: "anonymous", username: "anonymous", admin: false };

export interface StartInput {
  channelName: string;
  /** Empty or undefined: a random uid. */
  agentUid?: string | number | undefined;
  remoteUids: Array<string | number>;
  /** The names the caller knows these fields by, for refusals (the seed's routes say rtcUid and userUid). */
  agentUidField?: string | undefined;
  remoteUidsField?: string | undefined;
  name?: string | undefined;
  instructions?: string | undefined;
  greeting?: string | undefined;
  llm?: LlmOverrides | undefined;
  tts?: TtsOverrides | undefined;
  asr?: AsrOverrides | undefined;
  idleTimeoutSeconds?: number | undefined;
  maxDurationSeconds?: number | undefined;
  enableRtm?: boolean | undefined;
}

export interface ListInput {
  pageSize: number;
  pageToken: string;
  channelName?: string | undefined;
  status?: VoiceAgentState | undefined;
  all: boolean;
}

const MAX_NAME_BYTES = 255;
const MAX_TEXT_BYTES = 512;
// Extra life for the token an agent joins with, beyond its maximum duration (the watchdog may run late).
const TOKEN_SLACK_SECONDS = 300;
const WATCHDOG_BATCH = 50;
const WATCHDOG_RECLAIM_MS = 60_000;

/**
 * Voice agents: Agora Conversational AI agents started, watched and stopped on behalf of users. Only the owner
 * (or an admin) sees or controls an agent; everyone else gets NOT_FOUND `agent_not_found`.
 */
export class VoiceAgents {
  constructor(
    private readonly deps: {
      db: Kysely<Database>;
      config: VoiceConfig;
      tokens: VoiceTokens;
      client: AgoraConvoAiClient;
      logger: Logger;
    },
  ) {}

  async start(caller: VoiceCaller, input: StartInput): Promise<VoiceAgentRecord> {
    const { config, tokens, client, db } = this.deps;
    const channel = checkChannelName(input.channelName);
    const agentUid =
      input.agentUid === undefined || input.agentUid === "" ? randomUid() : decimalUid(input.agentUid, input.agentUidField ?? "agent_uid");
    if (agentUid === "0")
      throw invalid(input.agentUidField ?? "agent_uid", "invalid_uid", "must not be 0 (the agent needs a uid its token is for)");
    const remoteUids = [...new Set(input.remoteUids.map((u) => (u === "*" ? "*" : uidString(u, input.remoteUidsField ?? "remote_uids"))))];
    if (remoteUids.length === 0) throw invalid("remote_uids", "missing_remote_uids", "name at least one user uid the agent listens to");
    if (remoteUids.includes(agentUid)) throw invalid("remote_uids", "invalid_uid", "the agent cannot listen to its own uid");
    const idleTimeoutSeconds = checkIdleTimeout(input.idleTimeoutSeconds ?? config.idleTimeoutSeconds);
    // 1..86400, then clamped to the server's maximum, as voice.proto documents.
    const maxDurationSeconds = Math.min(checkMaxDuration(input.maxDurationSeconds ?? config.maxDurationSeconds), config.maxDurationSeconds);
    // Before any vendor-key check in the join body, so a bad value is named whatever the server configures.
    checkMaxHistory(input.llm?.maxHistory);

    let name = input.name;
    if (name !== undefined && name !== "") {
      if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw invalid("name", "invalid_name", `must be at most ${MAX_NAME_BYTES} bytes`);
      const running = await findLiveAgentByName(db, name);
      if (running) return this.sameOwnerOrTaken(caller, running);
    } else {
      name = `agent_${channel.replace(/[^A-Za-z0-9_-]/g, "_")}_${randomBytes(6).toString("hex")}`;
    }

    const joinToken = tokens.rtcWithRtm(channel, agentUid, Math.min(MAX_EXPIRY_SECONDS, maxDurationSeconds + TOKEN_SLACK_SECONDS));
    const join = buildJoinRequest(config, {
      name,
      channel,
      token: joinToken.token,
      agentUid,
      remoteUids,
      idleTimeoutSeconds,
      enableRtm: input.enableRtm ?? true,
      instructions: input.instructions || config.instructions,
      greeting: input.greeting || config.greeting,
      llm: input.llm,
      tts: input.tts,
      asr: input.asr,
    });
    const scope: AgentScope = { channel, agentUid };
    const now = new Date();
    let agentId: string;
    let status: VoiceAgentState;
    let startedHere = true;
    try {
      const started = await client.join(join.body, scope);
      if (started.agentId === "")
        throw new DomainError("unavailable", "agora_error", "Agora accepted the agent but named no agent_id", {
          metadata: { agora_status: "200", agora_reason: "" },
        });
      agentId = started.agentId;
      status = started.status;
    } catch (err) {
      // 409: an agent with this name already runs (a retried start, or two starts racing). The same caller gets
      // that agent back; anyone else is told the name is taken.
      if (!(err instanceof AgoraError) || err.status !== 409) throw err;
      const conflicting = typeof err.body["agent_id"] === "string" ? err.body["agent_id"] : "";
      if (conflicting === "") {
        const known = await findLiveAgentByName(db, name);
        if (known) return this.sameOwnerOrTaken(caller, known);
        throw err;
      }
      agentId = conflicting;
      status = "running";
      startedHere = false;
    }
    let stored: VoiceAgentRecord;
    try {
      stored = await insertAgent(db, {
        agentId,
        name,
        ownerUserId: caller.userId,
        ownerUsername: caller.username,
        channelName: channel,
        agentUid,
        remoteUids,
        status,
        llmModel: join.llmModel,
        ttsVendor: join.ttsVendor,
        asrVendor: join.asrVendor,
        createdAt: now,
        maxRunUntil: new Date(now.getTime() + maxDurationSeconds * 1000),
      });
    } catch (err) {
      // Unrecorded, nobody could see or stop it and the watchdog would not find it: better not to leave it running.
      if (startedHere) await client.leave(agentId, scope).catch(() => undefined);
      throw err;
    }
    if (stored.ownerUserId !== caller.userId) throw nameTaken(name);
    this.deps.logger.info({ agentId, channel, owner: caller.username, name, maxDurationSeconds }, "voice agent started");
    return stored;
  }

  /**
   * Stops an agent; an agent already stopped is success without asking Agora again. Unknown and someone else's
   * agent are the same NOT_FOUND, so a stop tells nobody which ids exist.
   */
  async stop(caller: VoiceCaller, agentId: string): Promise<VoiceAgentRecord> {
    const agent = await this.visibleAgent(caller, agentId);
    if (!isLive(agent.status)) return agent;
    const stopped = await this.leave(agent, "");
    this.deps.logger.info({ agentId, owner: agent.ownerUsername, by: caller.username }, "voice agent stopped");
    return stopped;
  }

  /** One agent, refreshed from Agora while it is live (Agora stops agents itself on idle timeout). */
  async get(caller: VoiceCaller, agentId: string): Promise<VoiceAgentRecord> {
    const agent = await this.visibleAgent(caller, agentId);
    if (!isLive(agent.status) || agent.status === "stopping") return agent;
    try {
      const info = await this.deps.client.get(agentId, scopeOf(agent));
      if (info.status === agent.status) return agent;
      const final = !isLive(info.status);
      const updated = await updateAgent(this.deps.db, agentId, {
        status: info.status,
        ...(final ? { stoppedAt: info.stopTs === undefined ? new Date() : new Date(info.stopTs * 1000) } : {}),
        ...(info.status === "failed" && info.message ? { lastError: info.message } : {}),
      });
      return updated ?? agent;
    } catch (err) {
      if (err instanceof AgoraError && err.status === 404) return this.markGone(agent);
      // Agora being unreachable does not make the record unreadable: answer with what is stored.
      this.deps.logger.warn({ agentId, err: err instanceof Error ? err.message : String(err) }, "cannot refresh voice agent from Agora");
      return agent;
    }
  }

  async list(caller: VoiceCaller, input: ListInput): Promise<{ items: VoiceAgentRecord[]; nextPageToken: string }> {
    const limit = pageSize(input.pageSize, 20, 100);
    const position = decodePageToken("voice_agents", input.pageToken);
    let after: { createdAt: Date; agentId: string } | undefined;
    if (position) {
      const createdAt = new Date(positionString(position, "t"));
      if (Number.isNaN(createdAt.getTime()))
        throw new DomainError("invalid_argument", "invalid_page_token", "page_token: malformed", { field: "page_token" });
      after = { createdAt, agentId: positionString(position, "a") };
    }
    const rows = await listAgents(this.deps.db, {
      ownerUserId: caller.admin && input.all ? undefined : caller.userId,
      channelName: input.channelName || undefined,
      status: input.status,
      after,
      limit: limit + 1,
    });
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return {
      items,
      nextPageToken:
        rows.length > limit && last ? encodePageToken("voice_agents", { t: last.createdAt.toISOString(), a: last.agentId }) : "",
    };
  }

  async speak(
    caller: VoiceCaller,
    agentId: string,
    input: { text: string; priority: SpeakPriority; interruptable: boolean },
  ): Promise<void> {
    if (input.text.trim() === "") throw invalid("text", "invalid_text", "must not be empty");
    if (Buffer.byteLength(input.text) > MAX_TEXT_BYTES) throw invalid("text", "invalid_text", `must be at most ${MAX_TEXT_BYTES} bytes`);
    const agent = await this.runningAgent(caller, agentId);
    await this.whileRunning(agent, () => this.deps.client.speak(agentId, input, scopeOf(agent)));
  }

  async interrupt(caller: VoiceCaller, agentId: string): Promise<void> {
    const agent = await this.runningAgent(caller, agentId);
    await this.whileRunning(agent, () => this.deps.client.interrupt(agentId, scopeOf(agent)));
  }

  /** One watchdog pass: stops live agents past their maximum duration. Returns how many it stopped. */
  async stopOverdue(now = new Date()): Promise<number> {
    const overdue = await claimOverdueAgents(this.deps.db, now, WATCHDOG_BATCH, WATCHDOG_RECLAIM_MS);
    let stopped = 0;
    for (const agent of overdue) {
      const ranSeconds = Math.round((now.getTime() - agent.createdAt.getTime()) / 1000);
      try {
        await this.leave(agent, `stopped by the watchdog: maximum duration reached (ran ${ranSeconds} s)`);
        stopped += 1;
        this.deps.logger.info({ agentId: agent.agentId, owner: agent.ownerUsername, ranSeconds }, "voice agent stopped by the watchdog");
      } catch (err) {
        // Left `stopping`: a later pass takes it again once the claim is old.
        this.deps.logger.warn(
          { agentId: agent.agentId, err: err instanceof Error ? err.message : String(err) },
          "watchdog could not stop voice agent",
        );
      }
    }
    return stopped;
  }

  /** Agora's leave; an agent Agora no longer knows has left already. Records the agent as stopped. */
  private async leave(agent: VoiceAgentRecord, note: string): Promise<VoiceAgentRecord> {
    try {
      await this.deps.client.leave(agent.agentId, scopeOf(agent));
    } catch (err) {
      if (!(err instanceof AgoraError && err.status === 404)) {
        if (err instanceof DomainError) await updateAgent(this.deps.db, agent.agentId, { lastError: err.message });
        throw err;
      }
    }
    const updated = await updateAgent(this.deps.db, agent.agentId, {
      status: "stopped",
      stoppedAt: new Date(),
      ...(note ? { lastError: note } : {}),
    });
    return updated ?? agent;
  }

  private async whileRunning(agent: VoiceAgentRecord, call: () => Promise<void>): Promise<void> {
    try {
      await call();
    } catch (err) {
      // Agora's 404 means the agent has exited (idle timeout, crash): record that, then report Agora's answer.
      if (err instanceof AgoraError && err.status === 404) await this.markGone(agent);
      throw err;
    }
  }

  private async markGone(agent: VoiceAgentRecord): Promise<VoiceAgentRecord> {
    const updated = await updateAgent(this.deps.db, agent.agentId, {
      status: "stopped",
      stoppedAt: new Date(),
      lastError: "Agora no longer knows this agent (it exited)",
    });
    return updated ?? agent;
  }

  private async runningAgent(caller: VoiceCaller, agentId: string): Promise<VoiceAgentRecord> {
    const agent = await this.visibleAgent(caller, agentId);
    if (!isLive(agent.status) || agent.status === "stopping") {
      throw new DomainError("failed_precondition", "agent_not_running", `voice agent ${agentId} is ${agent.status}`);
    }
    return agent;
  }

  private async visibleAgent(caller: VoiceCaller, agentId: string): Promise<VoiceAgentRecord> {
    if (agentId === "") throw invalid("agent_id", "invalid_argument", "must not be empty");
    const agent = await findAgent(this.deps.db, agentId);
    if (!agent) throw notFound(agentId);
    this.checkVisible(caller, agent);
    return agent;
  }

  private checkVisible(caller: VoiceCaller, agent: VoiceAgentRecord): void {
    if (!caller.admin && agent.ownerUserId !== caller.userId) throw notFound(agent.agentId);
  }

  private sameOwnerOrTaken(caller: VoiceCaller, agent: VoiceAgentRecord): VoiceAgentRecord {
    if (agent.ownerUserId !== caller.userId) throw nameTaken(agent.name);
    return agent;
  }
}

function scopeOf(agent: VoiceAgentRecord): AgentScope {
  return { channel: agent.channelName, agentUid: agent.agentUid };
}

function invalid(field: string, reason: string, message: string): DomainError {
  return new DomainError("invalid_argument", reason, `${field}: ${message}`, { field });
}

function notFound(agentId: string): DomainError {
  return new DomainError("not_found", "agent_not_found", `no voice agent ${agentId} of yours`);
}

function nameTaken(name: string): DomainError {
  return new DomainError("already_exists", "agent_name_taken", `a running voice agent of another user is named ${name}`);
}
