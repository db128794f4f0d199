import { describe, expect, it } from "vitest";
import { readConfig } from "../../src/config.js";
import { DomainError } from "../../src/errors.js";
import { buildJoinRequest, type JoinInput } from "../../src/voice/join-body.js";

const base: JoinInput = {
  name: "n",
  channel: "c",
  token: "007x",
  agentUid: "1",
  remoteUids: ["2"],
  idleTimeoutSeconds: 30,
  enableRtm: true,
  instructions: "be brief",
  greeting: "hi",
};
const keyed = readConfig({ LLM_API_KEY: "llm-key", TTS_MINIMAX_API_KEY: "mm-key", ASR_DEEPGRAM_API_KEY: "dg-key" }).voice;

function refusal(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    return err as DomainError;
  }
  throw new Error("expected a refusal");
}

describe("join body", () => {
  it("has the seed's defaults: OpenAI gpt-4o-mini, MiniMax speech_2_6_turbo, Deepgram nova-3 English, RTM data channel", () => {
    const { body, llmModel, ttsVendor, asrVendor } = buildJoinRequest(keyed, base);
    expect([llmModel, ttsVendor, asrVendor]).toEqual(["gpt-4o-mini", "minimax", "deepgram"]);
    expect(body).toEqual({
      name: "n",
      properties: {
        channel: "c",
        token: "007x",
        agent_rtc_uid: "1",
        remote_rtc_uids: ["2"],
        enable_string_uid: true,
        idle_timeout: 30,
        advanced_features: { enable_rtm: true },
        llm: {
          url: "https://api.openai.com/v1/chat/completions",
          api_key: "llm-key",
          system_messages: [{ role: "system", content: "be brief" }],
          greeting_message: "hi",
          failure_message: expect.any(String),
          params: { model: "gpt-4o-mini" },
        },
        tts: {
          vendor: "minimax",
          params: { key: "mm-key", model: "speech_2_6_turbo", voice_setting: { voice_id: "English_captivating_female1" } },
        },
        asr: { vendor: "deepgram", language: "en", params: { key: "dg-key", model: "nova-3", language: "en" } },
        parameters: { data_channel: "rtm", enable_error_message: true },
      },
    });
  });

  it("applies overrides, ElevenLabs, Agora's own ASR and a data stream instead of RTM", () => {
    const cfg = readConfig({ LLM_API_KEY: "llm-key", TTS_ELEVENLABS_API_KEY: "el-key" }).voice;
    const { body } = buildJoinRequest(cfg, {
      ...base,
      enableRtm: false,
      llm: { model: "gpt-4.1", maxHistory: 12, params: { temperature: 0.2 } },
      tts: { vendor: "elevenlabs", voiceId: "v1" },
      asr: { vendor: "ares", language: "en-US" },
    });
    const p = body["properties"] as Record<string, Record<string, unknown>>;
    expect(p["llm"]).toMatchObject({ max_history: 12, params: { temperature: 0.2, model: "gpt-4.1" } });
    expect(p["tts"]).toEqual({ vendor: "elevenlabs", params: { key: "el-key", model_id: "eleven_flash_v2_5", voice_id: "v1" } });
    expect(p["asr"]).toEqual({ vendor: "ares", language: "en-US" });
    expect(p["parameters"]).toEqual({ data_channel: "datastream", enable_error_message: true });
    expect(p["advanced_features"]).toEqual({ enable_rtm: false });
  });

  it("answers *_not_configured when no key exists for the chosen vendor", () => {
    const bare = readConfig({}).voice;
    expect(refusal(() => buildJoinRequest(bare, base))).toMatchObject({ kind: "failed_precondition", reason: "llm_not_configured" });
    const llmOnly = readConfig({ LLM_API_KEY: "k" }).voice;
    expect(refusal(() => buildJoinRequest(llmOnly, base)).reason).toBe("tts_not_configured");
    expect(refusal(() => buildJoinRequest(llmOnly, { ...base, tts: { apiKey: "own" } })).reason).toBe("asr_not_configured");
    expect(refusal(() => buildJoinRequest(keyed, { ...base, tts: { vendor: "microsoft" } })).reason).toBe("tts_not_configured");
    expect(refusal(() => buildJoinRequest(keyed, { ...base, asr: { vendor: "speechmatics" } })).reason).toBe("asr_not_configured");
  });

  it("keeps the server's keys with the server's endpoints", () => {
    // Another LLM URL without a key of its own: the server's LLM key is not sent there.
    const { body } = buildJoinRequest(keyed, { ...base, llm: { url: "https://elsewhere.example/v1/chat/completions" } });
    expect((body["properties"] as Record<string, Record<string, unknown>>)["llm"]).not.toHaveProperty("api_key");
    expect(JSON.stringify(body)).not.toContain("llm-key");
    // Vendor params that redirect the connection need the caller's own key.
    const err = refusal(() => buildJoinRequest(keyed, { ...base, tts: { params: { url: "wss://evil.example" } } }));
    expect(err).toMatchObject({ kind: "invalid_argument", field: "tts.params" });
    expect(refusal(() => buildJoinRequest(keyed, { ...base, asr: { params: { base_url: "wss://evil.example" } } })).field).toBe(
      "asr.params",
    );
    const own = buildJoinRequest(keyed, { ...base, tts: { apiKey: "mine", params: { url: "wss://mine.example" } } });
    expect(JSON.stringify(own.body)).not.toContain("mm-key");
  });
});
