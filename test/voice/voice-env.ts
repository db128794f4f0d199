import { FAKE_APP_ID, FAKE_CERTIFICATE } from "./fake-agora.js";

export const LLM_KEY = "sk-llm-secret-for-tests";
export const MINIMAX_KEY = "minimax-secret-for-tests";
export const DEEPGRAM_KEY = "deepgram-secret-for-tests";

/** Environment for a gateway whose voice features talk to the fake Agora at `baseUrl`. */
export function voiceEnv(fake: { baseUrl: string }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    APP_ID: FAKE_APP_ID,
    APP_CERTIFICATE: FAKE_CERTIFICATE,
    AGORA_API_BASE_URL: fake.baseUrl,
    LLM_API_KEY: LLM_KEY,
    TTS_MINIMAX_API_KEY: MINIMAX_KEY,
    ASR_DEEPGRAM_API_KEY: DEEPGRAM_KEY,
    AGENTNET_VOICE_WATCHDOG_INTERVAL_MS: "100",
    ...extra,
  };
}
