import type { VoiceConfig } from "../config.js";
import { DomainError } from "../errors.js";
import { checkMaxHistory } from "./validation.js";

// The body of Agora's POST /join, from the server's defaults (the seed's: OpenAI gpt-4o-mini, MiniMax
// speech_2_6_turbo or ElevenLabs, Deepgram nova-3 English) and a request's overrides. The server's API keys go
// only to the endpoints they belong to: a request that points the LLM at another URL, or passes vendor params that
// could redirect the TTS/ASR connection, must bring its own key.

export interface LlmOverrides {
  url?: string | undefined;
  model?: string | undefined;
  apiKey?: string | undefined;
  maxHistory?: number | undefined;
  params?: Record<string, unknown> | undefined;
}

export interface TtsOverrides {
  vendor?: string | undefined;
  model?: string | undefined;
  voiceId?: string | undefined;
  apiKey?: string | undefined;
  params?: Record<string, unknown> | undefined;
}

export interface AsrOverrides {
  vendor?: string | undefined;
  model?: string | undefined;
  language?: string | undefined;
  apiKey?: string | undefined;
  params?: Record<string, unknown> | undefined;
}

export interface JoinInput {
  name: string;
  channel: string;
  /** The agent's RTC+RTM token for `agentUid` in `channel`. */
  token: string;
  agentUid: string;
  remoteUids: string[];
  idleTimeoutSeconds: number;
  enableRtm: boolean;
  instructions: string;
  greeting: string;
  llm?: LlmOverrides | undefined;
  tts?: TtsOverrides | undefined;
  asr?: AsrOverrides | undefined;
}

export interface JoinRequest {
  body: Record<string, unknown>;
  llmModel: string;
  ttsVendor: string;
  asrVendor: string;
}

/** Keys of vendor params that carry credentials or say where to connect. */
const ROUTING_PARAMS = ["key", "api_key", "apikey", "url", "base_url", "endpoint", "host", "region"];

export function buildJoinRequest(config: VoiceConfig, input: JoinInput): JoinRequest {
  const llm = llmSection(config, input);
  const tts = ttsSection(config, input.tts ?? {});
  const asr = asrSection(config, input.asr ?? {});
  return {
    body: {
      name: input.name,
      properties: {
        channel: input.channel,
        token: input.token,
        agent_rtc_uid: input.agentUid,
        remote_rtc_uids: input.remoteUids,
        // Uids travel as strings (the seed's front end joins with string accounts).
        enable_string_uid: true,
        idle_timeout: input.idleTimeoutSeconds,
        advanced_features: { enable_rtm: input.enableRtm },
        llm: llm.section,
        tts: tts.section,
        asr: asr.section,
        parameters: { data_channel: input.enableRtm ? "rtm" : "datastream", enable_error_message: true },
      },
    },
    llmModel: llm.model,
    ttsVendor: tts.vendor,
    asrVendor: asr.vendor,
  };
}

function llmSection(config: VoiceConfig, input: JoinInput) {
  const o = input.llm ?? {};
  const url = o.url ?? config.llm.url;
  // The server's key is for the server's LLM URL only.
  const apiKey = o.apiKey ?? (url === config.llm.url ? config.llm.apiKey : undefined);
  if (apiKey === undefined && url === config.llm.url) {
    throw notConfigured("llm_not_configured", "no LLM API key: set LLM_API_KEY on the server or pass llm.api_key");
  }
  const model = o.model ?? config.llm.model;
  const section: Record<string, unknown> = {
    url,
    ...(apiKey === undefined ? {} : { api_key: apiKey }),
    system_messages: [{ role: "system", content: input.instructions }],
    greeting_message: input.greeting,
    failure_message: "Sorry, something went wrong. Please try again.",
    params: { ...o.params, model },
  };
  if (o.maxHistory !== undefined) {
    checkMaxHistory(o.maxHistory);
    section["max_history"] = o.maxHistory;
  }
  return { section, model };
}

function ttsSection(config: VoiceConfig, o: TtsOverrides) {
  const vendor = (o.vendor ?? config.tts.vendor).toLowerCase();
  const extra = vendorParams("tts", o.params, o.apiKey);
  let params: Record<string, unknown>;
  if (vendor === "minimax") {
    const key = o.apiKey ?? config.tts.minimax.apiKey;
    if (key === undefined)
      throw notConfigured("tts_not_configured", "no MiniMax API key: set TTS_MINIMAX_API_KEY on the server or pass tts.api_key");
    params = {
      key,
      ...(config.tts.minimax.groupId === undefined ? {} : { group_id: config.tts.minimax.groupId }),
      model: o.model ?? config.tts.minimax.model,
      voice_setting: { voice_id: o.voiceId ?? config.tts.minimax.voiceId },
      ...extra,
    };
  } else if (vendor === "elevenlabs") {
    const key = o.apiKey ?? config.tts.elevenlabs.apiKey;
    if (key === undefined)
      throw notConfigured("tts_not_configured", "no ElevenLabs API key: set TTS_ELEVENLABS_API_KEY on the server or pass tts.api_key");
    params = { key, model_id: o.model ?? config.tts.elevenlabs.model, voice_id: o.voiceId ?? config.tts.elevenlabs.voiceId, ...extra };
  } else {
    // Another vendor Agora supports: the caller brings everything, the server has no key for it.
    if (o.apiKey === undefined) {
      throw notConfigured("tts_not_configured", `no API key for TTS vendor "${vendor}": pass tts.api_key`);
    }
    params = {
      ...(o.apiKey === undefined ? {} : { key: o.apiKey }),
      ...(o.model === undefined ? {} : { model: o.model }),
      ...(o.voiceId === undefined ? {} : { voice_id: o.voiceId }),
      ...extra,
    };
  }
  return { section: { vendor, params }, vendor };
}

function asrSection(config: VoiceConfig, o: AsrOverrides) {
  const vendor = (o.vendor ?? config.asr.vendor).toLowerCase();
  const language = o.language ?? config.asr.language;
  const extra = vendorParams("asr", o.params, o.apiKey);
  if (vendor === "ares") {
    // Agora's own ASR: no key, only a language.
    return { section: { vendor, language, ...(Object.keys(extra).length > 0 ? { params: extra } : {}) }, vendor };
  }
  let params: Record<string, unknown>;
  if (vendor === "deepgram") {
    const key = o.apiKey ?? config.asr.apiKey;
    if (key === undefined)
      throw notConfigured("asr_not_configured", "no Deepgram API key: set ASR_DEEPGRAM_API_KEY on the server or pass asr.api_key");
    params = { key, model: o.model ?? config.asr.model, language, ...extra };
  } else {
    if (o.apiKey === undefined) {
      throw notConfigured("asr_not_configured", `no API key for ASR vendor "${vendor}": pass asr.api_key`);
    }
    params = {
      ...(o.apiKey === undefined ? {} : { key: o.apiKey }),
      ...(o.model === undefined ? {} : { model: o.model }),
      language,
      ...extra,
    };
  }
  return { section: { vendor, language, params }, vendor };
}

/** Extra vendor params from a request; ones that redirect the connection need the caller's own key. */
function vendorParams(
  section: "tts" | "asr",
  params: Record<string, unknown> | undefined,
  ownKey: string | undefined,
): Record<string, unknown> {
  if (params === undefined) return {};
  if (ownKey === undefined) {
    const routing = Object.keys(params).find((k) => ROUTING_PARAMS.includes(k.toLowerCase()));
    if (routing !== undefined) {
      throw new DomainError(
        "invalid_argument",
        "invalid_argument",
        `${section}.params: "${routing}" may only be set together with ${section}.api_key (the server's key stays with the server's endpoint)`,
        { field: `${section}.params` },
      );
    }
  }
  return params;
}

function notConfigured(reason: string, message: string): DomainError {
  return new DomainError("failed_precondition", reason, message);
}
