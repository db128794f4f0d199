import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { SpeakPriority, type VoiceAgent, VoiceAgentSchema, VoiceAgentService, VoiceAgentStatus } from "../../gen/agentnet/v1/voice_pb.js";
import { principalOf } from "../server/context.js";
import {
  type SpeakPriority as AgoraSpeakPriority,
  type Voice,
  type VoiceAgentRecord,
  type VoiceAgentState,
  requireVoice,
} from "../voice/index.js";
import type { Auth } from "../auth/index.js";
import type { AdapterOptions } from "./adapter-options.js";
import { registerTokenService } from "./token.js";
import { registerVoiceSeedRoutes } from "./voice-seed-routes.js";

/**
 * Voice on this gateway: TokenService, VoiceAgentService and the Agora seed's HTTP routes, over one voice domain
 * (absent when APP_ID / APP_CERTIFICATE are unset: every call then answers `voice_not_configured`).
 */
export function registerVoice(router: ConnectRouter, voice: Voice | undefined, auth: Auth, options: AdapterOptions): void {
  registerTokenService(router, voice);
  registerVoiceAgentService(router, voice);
  registerVoiceSeedRoutes({ ...options, auth }, voice);
}

export function registerVoiceAgentService(router: ConnectRouter, voice: Voice | undefined): void {
  router.service(VoiceAgentService, {
    async startVoiceAgent(req, ctx) {
      const caller = principalOf(ctx);
      const agent = await requireVoice(voice).agents.start(caller, {
        channelName: req.channelName,
        agentUid: req.agentUid,
        remoteUids: req.remoteUids,
        name: req.name,
        instructions: req.instructions,
        greeting: req.greeting,
        llm: req.llm && {
          url: req.llm.url || undefined,
          model: req.llm.model || undefined,
          apiKey: req.llm.apiKey || undefined,
          maxHistory: req.llm.maxHistory,
          params: req.llm.params,
        },
        tts: req.tts && {
          vendor: req.tts.vendor || undefined,
          model: req.tts.model || undefined,
          voiceId: req.tts.voiceId || undefined,
          apiKey: req.tts.apiKey || undefined,
          params: req.tts.params,
        },
        asr: req.asr && {
          vendor: req.asr.vendor || undefined,
          model: req.asr.model || undefined,
          language: req.asr.language || undefined,
          apiKey: req.asr.apiKey || undefined,
          params: req.asr.params,
        },
        idleTimeoutSeconds: req.idleTimeoutSeconds,
        maxDurationSeconds: req.maxDurationSeconds === undefined ? undefined : Number(req.maxDurationSeconds),
        enableRtm: req.enableRtm,
      });
      return { agentId: agent.agentId, channelName: agent.channelName, status: statusOut(agent.status), agent: toVoiceAgent(agent) };
    },

    async stopVoiceAgent(req, ctx) {
      const agent = await requireVoice(voice).agents.stop(principalOf(ctx), req.agentId);
      return { agentId: req.agentId, status: statusOut(agent.status) };
    },

    async getVoiceAgent(req, ctx) {
      return { agent: toVoiceAgent(await requireVoice(voice).agents.get(principalOf(ctx), req.agentId)) };
    },

    async listVoiceAgents(req, ctx) {
      const page = await requireVoice(voice).agents.list(principalOf(ctx), {
        pageSize: req.pageSize,
        pageToken: req.pageToken,
        channelName: req.channelName,
        status: statusIn(req.status),
        all: req.all,
      });
      return { agents: page.items.map(toVoiceAgent), nextPageToken: page.nextPageToken };
    },

    async speak(req, ctx) {
      await requireVoice(voice).agents.speak(principalOf(ctx), req.agentId, {
        text: req.text,
        priority: priorityIn(req.priority),
        interruptable: req.interruptable ?? true,
      });
      return { agentId: req.agentId };
    },

    async interrupt(req, ctx) {
      await requireVoice(voice).agents.interrupt(principalOf(ctx), req.agentId);
      return { agentId: req.agentId };
    },
  });
}

const STATES: Record<VoiceAgentState, VoiceAgentStatus> = {
  idle: VoiceAgentStatus.IDLE,
  starting: VoiceAgentStatus.STARTING,
  running: VoiceAgentStatus.RUNNING,
  stopping: VoiceAgentStatus.STOPPING,
  stopped: VoiceAgentStatus.STOPPED,
  recovering: VoiceAgentStatus.RECOVERING,
  failed: VoiceAgentStatus.FAILED,
};

function statusOut(state: VoiceAgentState): VoiceAgentStatus {
  return STATES[state];
}

function statusIn(status: VoiceAgentStatus): VoiceAgentState | undefined {
  const found = (Object.entries(STATES) as Array<[VoiceAgentState, VoiceAgentStatus]>).find(([, s]) => s === status);
  return found?.[0];
}

function priorityIn(priority: SpeakPriority): AgoraSpeakPriority {
  if (priority === SpeakPriority.APPEND) return "APPEND";
  if (priority === SpeakPriority.IGNORE) return "IGNORE";
  return "INTERRUPT";
}

function toVoiceAgent(agent: VoiceAgentRecord): VoiceAgent {
  return create(VoiceAgentSchema, {
    agentId: agent.agentId,
    name: agent.name,
    channelName: agent.channelName,
    agentUid: agent.agentUid,
    remoteUids: agent.remoteUids,
    status: statusOut(agent.status),
    owner: agent.ownerUsername,
    createdAt: timestampFromDate(agent.createdAt),
    stoppedAt: agent.stoppedAt === null ? undefined : timestampFromDate(agent.stoppedAt),
    maxRunUntil: timestampFromDate(agent.maxRunUntil),
    llmModel: agent.llmModel,
    ttsVendor: agent.ttsVendor,
    asrVendor: agent.asrVendor,
    lastError: agent.lastError,
  });
}
