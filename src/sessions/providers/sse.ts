import { createParser, type EventSourceMessage } from "eventsource-parser";
import { ProviderError } from "./types.js";

// Server-sent events as OpenAI-compatible and Anthropic streaming APIs send them, parsed by eventsource-parser
// (line endings split across reads, a BOM, comments, `id` and `retry` fields are its business).

export interface SseEvent {
  event: string;
  data: string;
}

export async function* readSse(body: ReadableStream<Uint8Array>, signal: AbortSignal): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  const onAbort = () => void reader.cancel().catch(() => undefined);
  signal.addEventListener("abort", onAbort, { once: true });
  const ready: SseEvent[] = [];
  const parser = createParser({ onEvent: (e: EventSourceMessage) => void ready.push({ event: e.event || "message", data: e.data }) });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (signal.aborted) throw signal.reason ?? new Error("aborted");
      // A provider that ends without the blank line after its last event still meant that event.
      parser.feed(done ? `${decoder.decode()}\n\n` : decoder.decode(value, { stream: true }));
      yield* ready.splice(0);
      if (done) return;
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    reader.releaseLock();
  }
}

/** JSON of one event's data, or a ProviderError naming the provider. */
export function parseJson(provider: string, data: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(data);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new ProviderError(`${provider} sent a stream event that is not a JSON object`);
}

/** A short, single-line excerpt of an error body, for the `error` event (never the request, which holds the key). */
export async function errorExcerpt(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  let message = text;
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const inner = typeof parsed.error === "object" ? parsed.error?.message : (parsed.error ?? parsed.message);
    if (typeof inner === "string") message = inner;
  } catch {
    // not JSON: keep the text
  }
  return message.replace(/\s+/g, " ").trim().slice(0, 300);
}

/**
 * How an API answered a streamed request. Several OpenAI-compatible servers ignore `stream: true` and answer a
 * whole completion as JSON; read as server-sent events it holds no `data:` line, so it would come out as an
 * empty answer. So the content type decides: an event stream, a JSON completion, or a ProviderError naming what
 * came instead.
 */
export async function answerBody(
  provider: string,
  res: Response,
): Promise<{ kind: "sse"; body: ReadableStream<Uint8Array> } | { kind: "json"; json: Record<string, unknown> }> {
  const type = (res.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "text/event-stream" && res.body) return { kind: "sse", body: res.body };
  if (type === "application/json" || type.endsWith("+json")) {
    const text = await res.text();
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed))
        return { kind: "json", json: parsed as Record<string, unknown> };
    } catch {
      // reported below
    }
    throw new ProviderError(
      `${provider} answered HTTP ${res.status} with a JSON body that is not a JSON object: ${excerpt(text)}`,
      res.status,
    );
  }
  await res.body?.cancel().catch(() => undefined);
  throw new ProviderError(
    `${provider} answered HTTP ${res.status} with content type ${JSON.stringify(type || "(none)")}; expected text/event-stream or application/json`,
    res.status,
  );
}

/** The error message of an API error object (`{error: {message}}` or `{error: "…"}`), if it is one. */
export function apiErrorMessage(json: Record<string, unknown>): string | undefined {
  const error = json["error"];
  if (error === undefined || error === null) return undefined;
  if (typeof error === "string") return error;
  const message = (error as { message?: unknown }).message;
  return typeof message === "string" ? message : "unknown error";
}

function excerpt(text: string): string {
  return text.replace(/\s+/g, " ").trim().slice(0, 120);
}
