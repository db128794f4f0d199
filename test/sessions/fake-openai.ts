import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local OpenAI-compatible chat-completions server (real HTTP on 127.0.0.1) streaming SSE chunks. It answers
 * "fake: <last user message>" word by word, unless the last user message asks otherwise: `#fail` answers HTTP
 * 500, `#slow` waits `slowMs` before answering (longer than the gateway's deadline), `#midfail` streams a word
 * and then an error chunk, `#json` ignores `stream: true` and answers a whole JSON completion, `#empty` streams
 * no text at all (a role chunk and [DONE]), `#hold` streams its first word and then waits for release() — so a
 * test can act while an answer is known to be half way through.
 */
export interface FakeOpenAi {
  /** Base URL to give as OPENAI_COMPATIBLE_BASE_URL (ends in /v1). */
  baseUrl: string;
  /** Requests received: their Authorization header and body. */
  requests: Array<{ authorization: string | undefined; body: ChatBody }>;
  /** Answers held by `#hold` that have sent their first word and wait for release(). */
  held(): number;
  /** Lets the answers held now go on. */
  release(): void;
  close(): Promise<void>;
}

interface ChatBody {
  model: string;
  stream: boolean;
  messages: Array<{ role: string; content: string }>;
}

export async function startFakeOpenAi(options: { slowMs?: number; wordDelayMs?: number } = {}): Promise<FakeOpenAi> {
  const slowMs = options.slowMs ?? 5000;
  const wordDelayMs = options.wordDelayMs ?? 5;
  const requests: FakeOpenAi["requests"] = [];
  const open = new Set<ServerResponse>();
  let held = 0;
  let closed = false;
  const waiting = new Set<() => void>();
  const server: Server = createServer((req, res) => void handle(req, res));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ChatBody;
    requests.push({ authorization: req.headers.authorization, body });
    const last = [...body.messages].reverse().find((m) => m.role === "user")?.content ?? "";
    if (last.includes("#fail")) {
      res
        .writeHead(500, { "content-type": "application/json" })
        .end(JSON.stringify({ error: { message: "the fake model is down", type: "server_error" } }));
      return;
    }
    open.add(res);
    res.on("close", () => open.delete(res));
    if (last.includes("#slow")) await sleep(slowMs);
    if (res.destroyed) return;
    const id = `chatcmpl-${Date.now()}`;
    if (last.includes("#json")) {
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          id,
          object: "chat.completion",
          model: body.model,
          choices: [{ index: 0, message: { role: "assistant", content: `fake: ${last}` }, finish_reason: "stop" }],
          usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
        }),
      );
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const send = (delta: Record<string, unknown>, finish: string | null = null) =>
      res.write(
        `data: ${JSON.stringify({ id, object: "chat.completion.chunk", model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`,
      );
    send({ role: "assistant", content: "" });
    if (last.includes("#empty")) {
      send({}, "stop");
      res.end("data: [DONE]\n\n");
      return;
    }
    const words = `fake: ${last}`.match(/\s*\S+/g) ?? [];
    for (const [i, word] of words.entries()) {
      if (res.destroyed) return;
      send({ content: word });
      if (last.includes("#midfail") && i === 1) {
        res.end(`data: ${JSON.stringify({ error: { message: "the fake model broke mid-answer" } })}\n\n`);
        return;
      }
      if (last.includes("#hold") && i === 0 && !closed) {
        held++;
        await new Promise<void>((resolve) => waiting.add(resolve));
        held--;
      }
      await sleep(wordDelayMs);
    }
    send({}, "stop");
    res.end("data: [DONE]\n\n");
  }

  function release(): void {
    for (const resolve of waiting) resolve();
    waiting.clear();
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    held: () => held,
    release,
    async close() {
      closed = true;
      release();
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
