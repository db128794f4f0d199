// What the turn runner needs from an AI provider: a streamed answer to a conversation. Providers know nothing of
// sessions or storage; they turn a request into text fragments and, when the API reports it, token usage.

export type ProviderKindName = "echo" | "openai_compatible" | "anthropic";

export interface ChatMessage {
  role: "user" | "assistant";
  content: string;
}

export interface ChatRequest {
  model: string;
  /** Instructions for the agent (personality, goal, rules). */
  system: string;
  /** The conversation so far, oldest first, from this agent's point of view; the last one is what it answers. */
  messages: ChatMessage[];
  temperature: number | undefined;
  maxOutputTokens: number;
  /** Aborted when the deadline passes or the session ends; the provider must stop promptly. */
  signal: AbortSignal;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

/** A piece of a streamed answer: text, or the usage the API reported (at most once, usually last). */
export type ChatChunk = { type: "text"; text: string } | { type: "usage"; usage: Usage };

export interface ChatProvider {
  /** The name agents use (AgentConfig.provider). */
  readonly name: string;
  readonly kind: ProviderKindName;
  /** True when it can be used now (its key and base URL are known). */
  readonly configured: boolean;
  readonly defaultModel: string;
  /** Models known to work (informational). */
  readonly models: readonly string[];
  stream(request: ChatRequest): AsyncIterable<ChatChunk>;
}

/** A provider call that failed: the API answered an error, the connection broke, or the answer was malformed. */
export class ProviderError extends Error {
  override name = "ProviderError";

  constructor(
    message: string,
    /** The API's HTTP status when it answered one; 0 otherwise. */
    readonly status = 0,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
