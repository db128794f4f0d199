import { Writable } from "node:stream";
import { pino } from "pino";
import { readConfig } from "../../src/config.js";
import { startGateway } from "../../src/app/index.js";
import type { TestBackend, TestGateway } from "../support/gateway.js";
import { FAKE_CERTIFICATE } from "./fake-agora.js";
import { DEEPGRAM_KEY, LLM_KEY, MINIMAX_KEY } from "./voice-env.js";

export { DEEPGRAM_KEY, LLM_KEY, MINIMAX_KEY, voiceEnv } from "./voice-env.js";

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
