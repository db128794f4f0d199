import { Writable } from "node:stream";
import { pino } from "pino";
import { readConfig } from "../../src/config.js";
import { startGateway } from "../../src/app/index.js";
import type { TestBackend, TestGateway } from "../support/gateway.js";
import { FAKE_APP_ID, FAKE_CERTIFICATE, type FakeAgora } from "./fake-agora.js";

export const LLM_KEY = "sk-llm-secret-for-tests";
export const MINIMAX_KEY = "minimax-secret-for-tests";
export const DEEPGRAM_KEY = "deepgram-secret-for-tests";

/** Environment for a gateway whose voice features talk to `fake`. */
export function voiceEnv(fake: FakeAgora, extra: Record<string, string> = {}): Record<string, string> {
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

/** Like startTestGateway, but logging everything (debug) into a string the test can search for secrets. */
export async function startLoggingGateway(
  backend: TestBackend,
  overrides: Record<string, string>,
): Promise<{ gw: TestGateway; logs: () => string }> {
  let logs = "";
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs += chunk.toString();
      done();
    },
  });
  const config = readConfig({ HOST: "127.0.0.1", PORT: "0", ...backend.env, ...overrides, LOG_LEVEL: "debug" });
  const gateway = await startGateway(config, pino({ level: "debug" }, sink));
  return { gw: Object.assign(gateway, { url: `http://127.0.0.1:${gateway.port}`, config }), logs: () => logs };
}

/** Secrets that must never show up in logs. */
export const SECRETS = [FAKE_CERTIFICATE, LLM_KEY, MINIMAX_KEY, DEEPGRAM_KEY];
