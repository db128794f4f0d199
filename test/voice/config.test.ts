import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, readConfig } from "../../src/config.js";
import { runCli } from "../support/cli.js";

const APP_ID = "0123456789abcdef0123456789abcdef";
const CERT = "fedcba9876543210fedcba9876543210";

function configError(env: Record<string, string>): ConfigError {
  try {
    readConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("voice configuration", () => {
  it("is off without APP_ID / APP_CERTIFICATE and has the seed's defaults", () => {
    const { voice } = readConfig({});
    expect(voice.agora).toBeUndefined();
    expect(voice.apiBaseUrl).toBe("https://api.agora.io/api/conversational-ai-agent/v2");
    expect(voice.llm).toEqual({ url: "https://api.openai.com/v1/chat/completions", apiKey: undefined, model: "gpt-4o-mini" });
    expect(voice.tts.vendor).toBe("minimax");
    expect(voice.tts.minimax).toMatchObject({ model: "speech_2_6_turbo", voiceId: "English_captivating_female1" });
    expect(voice.asr).toMatchObject({ vendor: "deepgram", model: "nova-3", language: "en" });
    expect(voice.idleTimeoutSeconds).toBe(30);
    expect(voice.maxDurationSeconds).toBe(3600);
    expect(voice.publicSeedRoutes).toBe(false);
    expect(voice.customer).toBeUndefined();
  });

  it("takes both APP_ID and APP_CERTIFICATE, customer credentials, region and base URL", () => {
    const { voice } = readConfig({
      APP_ID,
      APP_CERTIFICATE: CERT,
      AGORA_CUSTOMER_ID: "cust",
      AGORA_CUSTOMER_SECRET: "secret",
      AGORA_REGION: "eu",
      AGENTNET_VOICE_PUBLIC_SEED_ROUTES: "true",
    });
    expect(voice.agora).toEqual({ appId: APP_ID, appCertificate: CERT });
    expect(voice.customer).toEqual({ id: "cust", secret: "secret" });
    expect(voice.apiBaseUrl).toBe("https://api-eu-west-1.agora.io/api/conversational-ai-agent/v2");
    expect(voice.publicSeedRoutes).toBe(true);
    expect(readConfig({ AGORA_API_BASE_URL: "http://127.0.0.1:9/x/v2/" }).voice.apiBaseUrl).toBe("http://127.0.0.1:9/x/v2");
  });

  it("picks ElevenLabs when only its key is set (the seed's .env), unless TTS_VENDOR says otherwise", () => {
    expect(readConfig({ TTS_ELEVENLABS_API_KEY: "k" }).voice.tts.vendor).toBe("elevenlabs");
    expect(readConfig({ TTS_ELEVENLABS_API_KEY: "k", TTS_VENDOR: "minimax" }).voice.tts.vendor).toBe("minimax");
    expect(readConfig({ TTS_ELEVENLABS_API_KEY: "k", TTS_MINIMAX_API_KEY: "m" }).voice.tts.vendor).toBe("minimax");
  });

  it.each([
    [{ APP_ID: "not-hex", APP_CERTIFICATE: CERT }, "APP_ID"],
    [{ APP_ID, APP_CERTIFICATE: `${CERT}00` }, "APP_CERTIFICATE"],
    [{ APP_ID }, "APP_CERTIFICATE"],
    [{ APP_CERTIFICATE: CERT }, "APP_ID"],
    [{ AGORA_CUSTOMER_ID: "x" }, "AGORA_CUSTOMER_SECRET"],
    [{ AGORA_REGION: "mars" }, "AGORA_REGION"],
    [{ AGORA_API_BASE_URL: "ftp://x" }, "AGORA_API_BASE_URL"],
    [{ TTS_VENDOR: "polly" }, "TTS_VENDOR"],
    [{ AGENTNET_VOICE_MAX_DURATION_SECONDS: "0" }, "AGENTNET_VOICE_MAX_DURATION_SECONDS"],
    [{ AGENTNET_VOICE_PUBLIC_SEED_ROUTES: "maybe" }, "AGENTNET_VOICE_PUBLIC_SEED_ROUTES"],
  ])("refuses %o naming %s", (env, variable) => {
    const err = configError(env);
    expect(err.variable).toBe(variable);
    expect(err.message).toContain(variable);
  });

  it("never puts the certificate into the error", () => {
    const secretish = `zz${CERT}`;
    const err = configError({ APP_ID, APP_CERTIFICATE: secretish });
    expect(err.message).not.toContain(secretish);
  });

  it("a malformed App ID stops `agentnet serve` with one line naming the variable", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "agentnet-voice-cli-"));
    try {
      const res = await runCli(["serve"], { AGENTNET_DATA_DIR: dataDir, APP_ID: "1234", APP_CERTIFICATE: CERT });
      expect(res.code).toBe(1);
      const lines = res.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^agentnet: invalid configuration: APP_ID must be 32 hexadecimal characters/);
      expect(res.stdout).not.toContain("listening");
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
