import { answerBody, apiErrorMessage, errorExcerpt, parseJson, readSse } from "./sse.js";
import { type ChatChunk, type ChatMessage, type ChatProvider, type ChatRequest, ProviderError } from "./types.js";

const API_VERSION = "2023-06-01";

/**
 * Anthropic's Messages API, streamed: `POST {base}/v1/messages` with `stream: true`; text arrives in
 * `content_block_delta` events, input tokens in `message_start`, output tokens in `message_delta`. A JSON
 * message instead of a stream (a proxy or compatible server that does not stream) is read as one (content[].text);
 * an answer without text, streamed or not, is a ProviderError.
 */
export class AnthropicProvider implements ChatProvider {
  readonly name = "anthropic";
  readonly kind = "anthropic" as const;

  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string | undefined,
    readonly defaultModel: string,
    readonly models: readonly string[],
  ) {}

  get configured(): boolean {
    return this.apiKey !== undefined;
  }

  async *stream(request: ChatRequest): AsyncGenerator<ChatChunk> {
    if (!this.apiKey) throw new ProviderError("anthropic has no API key configured");
    const body = {
      model: request.model,
      stream: true,
      max_tokens: request.maxOutputTokens,
      ...(request.temperature !== undefined && { temperature: request.temperature }),
      ...(request.system && { system: request.system }),
      messages: alternating(request.messages),
    };
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}/v1/messages`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-api-key": this.apiKey,
          "anthropic-version": API_VERSION,
          accept: "text/event-stream",
        },
        body: JSON.stringify(body),
        signal: request.signal,
      });
    } catch (err) {
      request.signal.throwIfAborted();
      throw new ProviderError(`anthropic is unreachable: ${(err as Error).message}`, 0, { cause: err });
    }
    if (!res.ok || !res.body) throw new ProviderError(`anthropic answered HTTP ${res.status}: ${await errorExcerpt(res)}`, res.status);
    const answer = await answerBody(this.name, res);
    if (answer.kind === "json") {
      yield* message(answer.json, res.status);
      return;
    }
    let inputTokens = 0;
    let text = false;
    for await (const event of readSse(answer.body, request.signal)) {
      const data = parseJson(this.name, event.data);
      switch (data["type"]) {
        case "message_start": {
          const usage = (data["message"] as { usage?: { input_tokens?: unknown } } | undefined)?.usage;
          if (typeof usage?.input_tokens === "number") inputTokens = usage.input_tokens;
          break;
        }
        case "content_block_delta": {
          const delta = data["delta"] as { type?: unknown; text?: unknown } | undefined;
          if (delta?.type === "text_delta" && typeof delta.text === "string" && delta.text !== "") {
            text = true;
            yield { type: "text", text: delta.text };
          }
          break;
        }
        case "message_delta": {
          const usage = data["usage"] as { output_tokens?: unknown } | undefined;
          if (typeof usage?.output_tokens === "number") yield { type: "usage", usage: { inputTokens, outputTokens: usage.output_tokens } };
          break;
        }
        case "error": {
          const error = data["error"] as { message?: unknown } | undefined;
          throw new ProviderError(`anthropic failed mid-answer: ${typeof error?.message === "string" ? error.message : "unknown error"}`);
        }
      }
      if (data["type"] === "message_stop") break;
    }
    if (!text) throw new ProviderError("anthropic streamed an answer without any text");
  }
}

/** A whole Messages API answer: its text blocks as one fragment, and its usage. */
function* message(json: Record<string, unknown>, status: number): Generator<ChatChunk> {
  const error = apiErrorMessage(json);
  if (error !== undefined) throw new ProviderError(`anthropic failed: ${error}`, status);
  const blocks = Array.isArray(json["content"]) ? (json["content"] as Array<{ type?: unknown; text?: unknown }>) : [];
  const text = blocks.map((b) => (b.type === "text" && typeof b.text === "string" ? b.text : "")).join("");
  if (text === "") throw new ProviderError("anthropic answered a JSON message without text (no content[].text)", status);
  yield { type: "text", text };
  const usage = json["usage"] as { input_tokens?: unknown; output_tokens?: unknown } | undefined;
  if (typeof usage?.input_tokens === "number" && typeof usage.output_tokens === "number") {
    yield { type: "usage", usage: { inputTokens: usage.input_tokens, outputTokens: usage.output_tokens } };
  }
}

/** The Messages API wants user and assistant turns alternating, starting with the user: merge runs, pad the start. */
function alternating(messages: ChatMessage[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (const m of messages) {
    const last = out.at(-1);
    if (last && last.role === m.role) last.content += `\n\n${m.content}`;
    else out.push({ ...m });
  }
  if (out[0]?.role !== "user") out.unshift({ role: "user", content: "(conversation start)" });
  return out;
}
