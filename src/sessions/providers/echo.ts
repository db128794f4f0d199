import { setTimeout as sleep } from "node:timers/promises";
import type { ChatChunk, ChatProvider, ChatRequest } from "./types.js";

/**
 * The built-in provider: answers "echo: <the message it answers>", streamed word by word with `delayMs` between
 * words. Deterministic and free, so it is the embedded default and the tests' double.
 */
export class EchoProvider implements ChatProvider {
  readonly name = "echo";
  readonly kind = "echo" as const;
  readonly configured = true;
  readonly defaultModel = "echo";
  readonly models = ["echo"] as const;

  constructor(private readonly delayMs: number) {}

  async *stream(request: ChatRequest): AsyncGenerator<ChatChunk> {
    const input = request.messages.at(-1)?.content ?? "";
    // Whitespace stays with the word after it, so the fragments concatenate to exactly the answer.
    const words = `echo: ${input}`.match(/\s*\S+/g) ?? ["echo:"];
    for (const [i, word] of words.entries()) {
      if (i > 0 && this.delayMs > 0) await sleep(this.delayMs, undefined, { signal: request.signal });
      request.signal.throwIfAborted();
      yield { type: "text", text: word };
    }
  }
}
