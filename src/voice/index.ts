import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { VoiceConfig } from "../config.js";
import { DomainError } from "../errors.js";
import type { Database } from "../store/schema.js";
import { AgoraConvoAiClient } from "./agora-client.js";
import { VoiceTokens } from "./tokens.js";
import { VoiceAgents } from "./voice-agents.js";
import { VoiceWatchdog } from "./watchdog.js";

export type { SpeakPriority } from "./agora-client.js";
export type { VoiceAgentRecord } from "./records.js";
export type { VoiceAgentState } from "./tables.js";
export { ANONYMOUS, type VoiceCaller } from "./voice-agents.js";
export { VoiceWatchdog } from "./watchdog.js";
export { liveVoiceAgentCount } from "./stats.js";

/** The voice domain of one gateway: tokens, agents and the watchdog (a service to run) that stops forgotten agents. */
export interface Voice {
  tokens: VoiceTokens;
  agents: VoiceAgents;
  watchdog: VoiceWatchdog;
}

/** Builds the voice domain, or undefined when APP_ID / APP_CERTIFICATE are not configured. */
export function createVoice(options: { db: Kysely<Database>; config: VoiceConfig; logger: Logger }): Voice | undefined {
  const { config } = options;
  if (!config.agora) return undefined;
  const tokens = new VoiceTokens(config.agora);
  const client = new AgoraConvoAiClient({
    baseUrl: config.apiBaseUrl,
    appId: config.agora.appId,
    tokens,
    customer: config.customer,
    // Never echoed back to callers, even if Agora quotes them in an error.
    secrets: [
      config.agora.appCertificate,
      config.llm.apiKey,
      config.tts.minimax.apiKey,
      config.tts.elevenlabs.apiKey,
      config.asr.apiKey,
    ].filter((s): s is string => s !== undefined),
  });
  const logger = options.logger.child({ domain: "voice" });
  const agents = new VoiceAgents({ db: options.db, config, tokens, client, logger });
  const watchdog = new VoiceWatchdog({ agents, intervalMs: config.watchdogIntervalMs, logger });
  return { tokens, agents, watchdog };
}

/** What every voice call answers while APP_ID / APP_CERTIFICATE are unset. */
export function requireVoice(voice: Voice | undefined): Voice {
  if (!voice) {
    throw new DomainError(
      "failed_precondition",
      "voice_not_configured",
      "voice is not configured on this server: set APP_ID and APP_CERTIFICATE (32 hexadecimal characters each)",
    );
  }
  return voice;
}
