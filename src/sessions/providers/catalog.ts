import type { ChatProviderName, SessionsConfig } from "../../config.js";
import { AnthropicProvider } from "./anthropic.js";
import { EchoProvider } from "./echo.js";
import { OpenAiCompatibleProvider } from "./openai.js";
import type { ChatProvider } from "./types.js";

// Every provider agentnet knows, in ListProviders order ("echo" first), with public endpoints and default
// models. The environment supplies keys and may override base URLs and default models.

interface OpenAiLike {
  name: Exclude<ChatProviderName, "echo" | "anthropic">;
  baseUrl: string | undefined;
  model: string;
  models: string[];
  keyRequired: boolean;
}

const OPENAI_LIKE: OpenAiLike[] = [
  {
    name: "openai",
    baseUrl: "https://api.openai.com/v1",
    model: "gpt-4o-mini",
    models: ["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini"],
    keyRequired: true,
  },
  {
    name: "groq",
    baseUrl: "https://api.groq.com/openai/v1",
    model: "llama-3.3-70b-versatile",
    models: ["llama-3.3-70b-versatile", "llama-3.1-8b-instant"],
    keyRequired: true,
  },
  {
    name: "together",
    baseUrl: "https://api.together.xyz/v1",
    model: "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    models: ["meta-llama/Llama-3.3-70B-Instruct-Turbo"],
    keyRequired: true,
  },
  {
    name: "novita",
    baseUrl: "https://api.novita.ai/v3/openai",
    model: "meta-llama/llama-3.1-8b-instruct",
    models: ["meta-llama/llama-3.1-8b-instruct"],
    keyRequired: true,
  },
  // vLLM, Ollama, LM Studio, …: configured by OPENAI_COMPATIBLE_BASE_URL alone (a key is sent when given).
  { name: "openai_compatible", baseUrl: undefined, model: "default", models: [], keyRequired: false },
];

/** The providers by name, in listing order. */
export class ProviderCatalog {
  private readonly byName = new Map<string, ChatProvider>();

  constructor(config: Pick<SessionsConfig, "providers" | "echoDelayMs">) {
    this.add(new EchoProvider(config.echoDelayMs));
    for (const p of OPENAI_LIKE) {
      const env = config.providers[p.name];
      this.add(new OpenAiCompatibleProvider(p.name, env.baseUrl ?? p.baseUrl, env.apiKey, env.model ?? p.model, p.models, p.keyRequired));
    }
    const anthropic = config.providers.anthropic;
    this.add(
      new AnthropicProvider(anthropic.baseUrl ?? "https://api.anthropic.com", anthropic.apiKey, anthropic.model ?? "claude-haiku-4-5", [
        "claude-haiku-4-5",
        "claude-sonnet-4-5",
      ]),
    );
  }

  /** Replaces or adds a provider (tests plug doubles in this way). */
  add(provider: ChatProvider): void {
    this.byName.set(provider.name, provider);
  }

  get(name: string): ChatProvider | undefined {
    return this.byName.get(name);
  }

  list(): ChatProvider[] {
    return [...this.byName.values()];
  }
}
