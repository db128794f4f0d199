import { answerBody, apiErrorMessage, errorExcerpt, parseJson, readSse } from "./sse.js";
import { type ChatChunk, type ChatProvider, type ChatRequest, ProviderError } from "./types.js";

/**
 * Any OpenAI-compatible chat-completions API (OpenAI, Groq, Together, Novita, vLLM, Ollama, …): `POST
 * {base}/chat/completions` with `stream: true`, answered as server-sent events of `choices[0].delta.content`,
 * ending with `data: [DONE]`. Usage is taken from a chunk that carries it (several APIs send one); otherwise the
 * turn runner estimates it. A server that ignores `stream: true` and answers a JSON completion is read as one
 * (choices[0].message.content); an answer without text, streamed or not, is a ProviderError.
 */
export class OpenAiCompatibleProvider implements ChatProvider {
  readonly kind = "openai_compatible" as const;

  constructor(
    readonly name: string,
    private readonly baseUrl: string | undefined,
    private readonly apiKey: string | undefined,
    readonly defaultModel: string,
    readonly models: readonly string[],
    /** True when a key is needed (hosted APIs); local servers (vLLM, Ollama) take none. */
    private readonly keyRequired: boolean,
  ) {}

  get configured(): boolean {
    return this.baseUrl !== undefined && (!this.keyRequired || this.apiKey !== undefined);
  }

  async *stream(request: ChatRequest): AsyncGenerator<ChatChunk> {
    if (!this.baseUrl) throw new ProviderError(`${this.name} has no base URL configured`);
    const headers: Record<string, string> = { "content-type": "application/json", accept: "text/event-stream" };
    if (this.apiKey) headers["authorization"] = `Bearer ${this.apiKey}`;
    const body = {
      model: request.model,
      stream: true,
      max_tokens: request.maxOutputTokens,
      ...(request.temperature !== undefined && { temperature: request.temperature }),
      messages: [...(request.system ? [{ role: "system", content: request.system }] : []), ...request.messages],
    };
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}/chat/completions`, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal: request.signal,
      });
    } catch (err) {
      request.signal.throwIfAborted();
      throw new ProviderError(
        `${this.name} is unreachable: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`,
        0,
        { cause: err },
      );
    }
    if (!res.ok || !res.body) {
      throw new ProviderError(`${this.name} answered HTTP ${res.status}: ${await errorExcerpt(res)}`, res.status);
    }
    const answer = await answerBody(this.name, res);
    if (answer.kind === "json") {
      yield* this.completion(answer.json, res.status);
      return;
    }
    let text = false;
    for await (const event of readSse(answer.body, request.signal)) {
      if (event.data.trim() === "[DONE]") break;
      const chunk = parseJson(this.name, event.data);
      const error = apiErrorMessage(chunk);
      if (error !== undefined) throw new ProviderError(`${this.name} failed mid-answer: ${error}`);
      const choices = Array.isArray(chunk["choices"]) ? (chunk["choices"] as Array<{ delta?: { content?: unknown } }>) : [];
      const delta = choices[0]?.delta?.content;
      if (typeof delta === "string" && delta !== "") {
        text = true;
        yield { type: "text", text: delta };
      }
      const usage = usageOf(chunk);
      if (usage) yield { type: "usage", usage };
    }
    if (!text) throw new ProviderError(`${this.name} streamed an answer without any text`);
  }

  /** A whole completion, from a server that answered JSON instead of a stream: one fragment with all of it. */
  private *completion(json: Record<string, unknown>, status: number): Generator<ChatChunk> {
    const error = apiErrorMessage(json);
    if (error !== undefined) throw new ProviderError(`${this.name} failed: ${error}`, status);
    const choices = Array.isArray(json["choices"]) ? (json["choices"] as Array<{ message?: { content?: unknown } }>) : [];
    const content = choices[0]?.message?.content;
    if (typeof content !== "string" || content === "") {
      throw new ProviderError(`${this.name} answered a JSON completion without text (no choices[0].message.content)`, status);
    }
    yield { type: "text", text: content };
    const usage = usageOf(json);
    if (usage) yield { type: "usage", usage };
  }
}

function usageOf(json: Record<string, unknown>): { inputTokens: number; outputTokens: number } | undefined {
  const usage = (json["usage"] ?? (json["x_groq"] as { usage?: unknown } | undefined)?.usage) as
    | { prompt_tokens?: unknown; completion_tokens?: unknown }
    | undefined;
  if (usage && typeof usage.prompt_tokens === "number" && typeof usage.completion_tokens === "number") {
    return { inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens };
  }
  return undefined;
}
