import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { AnthropicProvider } from "../../src/sessions/providers/anthropic.js";
import { EchoProvider } from "../../src/sessions/providers/echo.js";
import { OpenAiCompatibleProvider } from "../../src/sessions/providers/openai.js";
import { readSse } from "../../src/sessions/providers/sse.js";
import { type ChatChunk, type ChatRequest, ProviderError } from "../../src/sessions/providers/types.js";

// The providers on their own: SSE parsing, Anthropic's event shapes, usage, errors.

function request(overrides: Partial<ChatRequest> = {}): ChatRequest {
  return {
    model: "m",
    system: "be brief",
    messages: [{ role: "user", content: "hello there" }],
    temperature: 0.2,
    maxOutputTokens: 64,
    signal: new AbortController().signal,
    ...overrides,
  };
}

async function collect(stream: AsyncIterable<ChatChunk>): Promise<{ text: string; chunks: ChatChunk[] }> {
  const chunks: ChatChunk[] = [];
  for await (const c of stream) chunks.push(c);
  return { text: chunks.map((c) => (c.type === "text" ? c.text : "")).join(""), chunks };
}

/** A one-route HTTP server answering with `respond`; returns its base URL, what it received, and close. */
async function serve(
  respond: (
    body: Record<string, unknown>,
    headers: Record<string, string | string[] | undefined>,
  ) => { status: number; body: string; contentType?: string },
) {
  const received: Array<{
    url: string | undefined;
    headers: Record<string, string | string[] | undefined>;
    body: Record<string, unknown>;
  }> = [];
  const server = createServer(async (req, res) => {
    const parts: Buffer[] = [];
    for await (const p of req) parts.push(p as Buffer);
    const body = JSON.parse(Buffer.concat(parts).toString("utf8")) as Record<string, unknown>;
    received.push({ url: req.url, headers: req.headers, body });
    const answer = respond(body, req.headers);
    res.writeHead(answer.status, {
      "content-type": answer.contentType ?? (answer.status === 200 ? "text/event-stream" : "application/json"),
    });
    // Split the answer at awkward places to exercise the parser's buffering.
    for (let i = 0; i < answer.body.length; i += 7) res.write(answer.body.slice(i, i + 7));
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe("chat providers", () => {
  it("parses server-sent events across chunk boundaries, CRLF and multi-line data", async () => {
    const text = ': comment\r\nevent: a\r\ndata: one\r\ndata: two\r\n\r\ndata: {"x":1}\n\ndata: last';
    const bytes = new TextEncoder().encode(text);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 3) controller.enqueue(bytes.slice(i, i + 3));
        controller.close();
      },
    });
    const events = [];
    for await (const e of readSse(body, new AbortController().signal)) events.push(e);
    expect(events).toEqual([
      { event: "a", data: "one\ntwo" },
      { event: "message", data: '{"x":1}' },
      { event: "message", data: "last" },
    ]);
  });

  it("echo answers deterministically, word by word", async () => {
    const { text, chunks } = await collect(new EchoProvider(0).stream(request({ messages: [{ role: "user", content: "a  b c" }] })));
    expect(text).toBe("echo: a  b c");
    expect(chunks).toHaveLength(4);
  });

  it("streams Anthropic's Messages API with usage, and reports its errors", async () => {
    const sse = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    const server = await serve((body) =>
      (body["messages"] as Array<{ content: string }>).at(-1)?.content.includes("#fail")
        ? { status: 529, body: JSON.stringify({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } }) }
        : {
            status: 200,
            body:
              sse("message_start", { message: { id: "msg_1", usage: { input_tokens: 12, output_tokens: 1 } } }) +
              sse("content_block_start", { index: 0, content_block: { type: "text", text: "" } }) +
              sse("ping", {}) +
              sse("content_block_delta", { index: 0, delta: { type: "text_delta", text: "Hello" } }) +
              sse("content_block_delta", { index: 0, delta: { type: "text_delta", text: " world" } }) +
              sse("content_block_stop", { index: 0 }) +
              sse("message_delta", { delta: { stop_reason: "end_turn" }, usage: { output_tokens: 3 } }) +
              sse("message_stop", {}),
          },
    );
    try {
      const provider = new AnthropicProvider(server.url, "sk-ant-test", "claude-test", []);
      const messages = [
        { role: "assistant" as const, content: "I spoke first" },
        { role: "user" as const, content: "one" },
        { role: "user" as const, content: "two" },
      ];
      const { text, chunks } = await collect(provider.stream(request({ messages })));
      expect(text).toBe("Hello world");
      expect(chunks.find((c) => c.type === "usage")).toEqual({ type: "usage", usage: { inputTokens: 12, outputTokens: 3 } });
      const sent = server.received[0]!;
      expect(sent.url).toBe("/v1/messages");
      expect(sent.headers["x-api-key"]).toBe("sk-ant-test");
      expect(sent.headers["anthropic-version"]).toBe("2023-06-01");
      expect(sent.body).toMatchObject({ model: "m", stream: true, max_tokens: 64, system: "be brief", temperature: 0.2 });
      // Alternating roles starting with the user, as the API requires.
      expect(sent.body["messages"]).toEqual([
        { role: "user", content: "(conversation start)" },
        { role: "assistant", content: "I spoke first" },
        { role: "user", content: "one\n\ntwo" },
      ]);
      const failing = collect(provider.stream(request({ messages: [{ role: "user", content: "#fail" }] })));
      await expect(failing).rejects.toBeInstanceOf(ProviderError);
      await expect(failing).rejects.toThrow(/HTTP 529: Overloaded/);
    } finally {
      await server.close();
    }
  });

  it("takes usage from an OpenAI-compatible stream when the API sends it", async () => {
    const chunk = (data: Record<string, unknown>) => `data: ${JSON.stringify(data)}\n\n`;
    const server = await serve(() => ({
      status: 200,
      body:
        chunk({ choices: [{ delta: { role: "assistant", content: "" } }] }) +
        chunk({ choices: [{ delta: { content: "Hi" } }] }) +
        chunk({ choices: [{ delta: {}, finish_reason: "stop" }], usage: { prompt_tokens: 5, completion_tokens: 1 } }) +
        "data: [DONE]\n\n",
    }));
    try {
      const provider = new OpenAiCompatibleProvider("local", `${server.url}/v1`, undefined, "default", [], false);
      expect(provider.configured).toBe(true);
      const { text, chunks } = await collect(provider.stream(request()));
      expect(text).toBe("Hi");
      expect(chunks.at(-1)).toEqual({ type: "usage", usage: { inputTokens: 5, outputTokens: 1 } });
      expect(server.received[0]?.headers["authorization"]).toBeUndefined();
      expect(new OpenAiCompatibleProvider("openai", "https://example.invalid", undefined, "x", [], true).configured).toBe(false);
    } finally {
      await server.close();
    }
  });

  it("reads an OpenAI-compatible JSON completion given instead of a stream; no text, an empty stream or another content type is a ProviderError", async () => {
    const chunk = (data: Record<string, unknown>) => `data: ${JSON.stringify(data)}\n\n`;
    const server = await serve((body) => {
      const last = (body["messages"] as Array<{ content: string }>).at(-1)?.content ?? "";
      if (last === "json") {
        return {
          status: 200,
          contentType: "application/json; charset=utf-8",
          body: JSON.stringify({
            object: "chat.completion",
            choices: [{ message: { role: "assistant", content: "Whole answer" } }],
            usage: { prompt_tokens: 4, completion_tokens: 2 },
          }),
        };
      }
      if (last === "json without text")
        return {
          status: 200,
          contentType: "application/json",
          body: JSON.stringify({ choices: [{ message: { role: "assistant", content: "" } }] }),
        };
      if (last === "html") return { status: 200, contentType: "text/html", body: "<html>hello</html>" };
      return {
        status: 200,
        body:
          chunk({ choices: [{ delta: { role: "assistant", content: "" } }] }) +
          chunk({ choices: [{ delta: {}, finish_reason: "stop" }] }) +
          "data: [DONE]\n\n",
      };
    });
    try {
      const provider = new OpenAiCompatibleProvider("local", `${server.url}/v1`, undefined, "default", [], false);
      const ask = (content: string) => collect(provider.stream(request({ messages: [{ role: "user", content }] })));
      expect((await ask("json")).chunks).toEqual([
        { type: "text", text: "Whole answer" },
        { type: "usage", usage: { inputTokens: 4, outputTokens: 2 } },
      ]);
      expect(server.received[0]?.body["stream"]).toBe(true);
      await expect(ask("json without text")).rejects.toThrow(/local answered a JSON completion without text/);
      await expect(ask("html")).rejects.toThrow(/local answered HTTP 200 with content type "text\/html"/);
      const empty = ask("empty stream");
      await expect(empty).rejects.toBeInstanceOf(ProviderError);
      await expect(empty).rejects.toThrow(/local streamed an answer without any text/);
    } finally {
      await server.close();
    }
  });

  it("reads an Anthropic JSON message given instead of a stream; no text or an empty stream is a ProviderError", async () => {
    const sse = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    const server = await serve((body) => {
      const last = (body["messages"] as Array<{ content: string }>).at(-1)?.content ?? "";
      if (last === "json") {
        return {
          status: 200,
          contentType: "application/json",
          body: JSON.stringify({
            type: "message",
            role: "assistant",
            content: [
              { type: "text", text: "Whole " },
              { type: "tool_use", id: "t", name: "x", input: {} },
              { type: "text", text: "answer" },
            ],
            usage: { input_tokens: 9, output_tokens: 2 },
          }),
        };
      }
      if (last === "json without text")
        return { status: 200, contentType: "application/json", body: JSON.stringify({ type: "message", content: [] }) };
      return {
        status: 200,
        body:
          sse("message_start", { message: { usage: { input_tokens: 3 } } }) +
          sse("message_delta", { usage: { output_tokens: 0 } }) +
          sse("message_stop", {}),
      };
    });
    try {
      const provider = new AnthropicProvider(server.url, "sk-ant-test", "claude-test", []);
      const ask = (content: string) => collect(provider.stream(request({ messages: [{ role: "user", content }] })));
      expect((await ask("json")).chunks).toEqual([
        { type: "text", text: "Whole answer" },
        { type: "usage", usage: { inputTokens: 9, outputTokens: 2 } },
      ]);
      await expect(ask("json without text")).rejects.toThrow(/anthropic answered a JSON message without text/);
      const empty = ask("empty stream");
      await expect(empty).rejects.toBeInstanceOf(ProviderError);
      await expect(empty).rejects.toThrow(/anthropic streamed an answer without any text/);
    } finally {
      await server.close();
    }
  });
});
