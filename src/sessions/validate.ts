import { DomainError, invalidArgument } from "../errors.js";
import { validMetadata } from "../registry/index.js";

// The limits of session.proto, checked in one place; each refusal names its field and reason.

export const MAX_CONTENT_CHARS = 32_000;
export const MAX_PERSONALITY_CHARS = 8_000;
export const MAX_GOAL_CHARS = 8_000;
export const DEFAULT_MAX_TURNS = 20;
export const MAX_MAX_TURNS = 200;
export const DEFAULT_STOP_WORD = "__EXIT__";
const AGENT_NAME = /^[a-z0-9_-]{1,64}$/;
const MAX_INTERACTION_MODES = 16;
const MAX_STOP_WORD_CHARS = 64;
const MAX_IDEMPOTENCY_KEY = 256;

export function checkAgentName(name: string): void {
  if (!AGENT_NAME.test(name)) {
    throw new DomainError(
      "invalid_argument",
      "invalid_agent_name",
      `agents: ${JSON.stringify(name)} is not an agent name (1 to 64 characters of a-z, 0-9, '_' or '-')`,
      {
        field: "agents",
      },
    );
  }
}

export function checkPersonality(name: string, personality: string): void {
  if (personality.length > MAX_PERSONALITY_CHARS) {
    throw invalidArgument(`agents[${name}].personality`, `at most ${MAX_PERSONALITY_CHARS} characters`);
  }
}

/** How the edge layer (src/server/input-rules.ts) names a field of one agent's config, so both name it alike. */
export function agentField(name: string, field: string): string {
  return `agents[${JSON.stringify(name)}].${field}`;
}

function refuse(field: string, reason: string, message: string): DomainError {
  return new DomainError("invalid_argument", reason, `${field}: ${message}`, { field });
}

/** Sampling temperature: the OpenAI-compatible APIs' range 0..2; unset: the provider's default. */
export const MAX_TEMPERATURE = 2;
/** Anthropic's Messages API accepts 0..1 only; a higher value would fail every turn as provider_error. */
export const MAX_ANTHROPIC_TEMPERATURE = 1;
export const MAX_OUTPUT_TOKENS = 65_536;
/** Same ceiling as the server's AGENTNET_CHAT_TOKENS_PER_MINUTE; 0 means no budget. */
export const MAX_TOKENS_PER_MINUTE = 100_000_000;

export function checkTemperature(name: string, temperature: number | undefined, providerKind?: string): void {
  if (temperature === undefined) return;
  const max = providerKind === "anthropic" ? MAX_ANTHROPIC_TEMPERATURE : MAX_TEMPERATURE;
  if (!(temperature >= 0 && temperature <= max)) {
    const which = providerKind === "anthropic" ? " for an anthropic provider" : "";
    throw refuse(agentField(name, "temperature"), "invalid_temperature", `must be between 0 and ${max}${which}, got ${temperature}`);
  }
}

export function checkMaxOutputTokens(name: string, tokens: number | undefined): void {
  if (tokens !== undefined && !(Number.isInteger(tokens) && tokens >= 1 && tokens <= MAX_OUTPUT_TOKENS)) {
    throw refuse(
      agentField(name, "max_output_tokens"),
      "invalid_max_output_tokens",
      `must be between 1 and ${MAX_OUTPUT_TOKENS}, got ${tokens}`,
    );
  }
}

/** AGENT_AGENT's turn limit: unset or 0 is the default, else 1..200. Checked for every session type. */
export function maxTurns(given: number | undefined): number {
  if (given === undefined || given === 0) return DEFAULT_MAX_TURNS;
  if (!Number.isInteger(given) || given < 1 || given > MAX_MAX_TURNS) {
    throw refuse(
      "max_turns",
      "invalid_max_turns",
      `must be between 1 and ${MAX_MAX_TURNS} (0 or unset: ${DEFAULT_MAX_TURNS}), got ${given}`,
    );
  }
  return given;
}

export function stopWord(given: string | undefined): string {
  if (given === undefined) return DEFAULT_STOP_WORD;
  if (given.length > MAX_STOP_WORD_CHARS) throw invalidArgument("stop_word", `at most ${MAX_STOP_WORD_CHARS} characters`);
  return given;
}

export function tokensPerMinute(given: number | undefined, fallback: number): number {
  if (given === undefined) return fallback;
  if (!Number.isInteger(given) || given < 0 || given > MAX_TOKENS_PER_MINUTE) {
    throw refuse(
      "tokens_per_minute",
      "invalid_tokens_per_minute",
      `must be between 0 (no budget) and ${MAX_TOKENS_PER_MINUTE}, got ${given}`,
    );
  }
  return given;
}

export function interactionModes(modes: readonly string[]): string[] {
  const out = [...new Set(modes.map((m) => m.trim()).filter((m) => m !== ""))];
  if (out.length > MAX_INTERACTION_MODES) throw invalidArgument("interaction_modes", `at most ${MAX_INTERACTION_MODES}`);
  if (out.some((m) => m.length > 64)) throw invalidArgument("interaction_modes", "each at most 64 characters");
  return out;
}

export function checkGoal(goal: string): void {
  if (goal.length > MAX_GOAL_CHARS) throw invalidArgument("goal", `at most ${MAX_GOAL_CHARS} characters`);
}

/** A message's text: 1 to 32,000 characters, not only whitespace. */
export function checkContent(content: string, field = "content"): void {
  if (content.trim() === "") throw new DomainError("invalid_argument", "empty_content", `${field}: must not be empty`, { field });
  if (content.length > MAX_CONTENT_CHARS) {
    throw new DomainError("invalid_argument", "content_too_long", `${field}: ${content.length} characters; at most ${MAX_CONTENT_CHARS}`, {
      field,
    });
  }
}

export function checkIdempotencyKey(key: string): void {
  if (key.length > MAX_IDEMPOTENCY_KEY) throw invalidArgument("idempotency_key", `at most ${MAX_IDEMPOTENCY_KEY} characters`);
}

/** A metadata object as compact JSON, within the registry's size limit. */
export function metadataJson(value: Record<string, unknown> | undefined, field: string): string {
  return validMetadata(value ?? {}, field);
}
