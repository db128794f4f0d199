// One turn of `agentnet chat`: a request whose answer is either a Reply or a stream (STREAM parts with the request
// as parent, the seed's streaming protocol). A stream is printed piece by piece as it arrives, through OBSERVE
// (the caller acts as an account without a session of its own, so it watches a copy of the traffic to it).
import type { Actor, MessageView, Target } from "@agentnet/client";
import { StreamCollector } from "@agentnet/client";

export type Answer =
  | { kind: "reply"; reply: MessageView; text: string }
  | { kind: "stream"; from: string; text: string; error?: { code: string; detail: string } };

export interface StreamedAskOptions {
  threadId: string;
  timeoutMs: number;
  /** The first piece of a streamed answer is coming, from this username. */
  onStreamStart: (from: string) => void;
  /** More text of the streamed answer, in order. */
  onPiece: (text: string) => void;
}

export async function streamedAsk(actor: Actor, to: Target, text: string, o: StreamedAskOptions): Promise<Answer> {
  const messageId = `m_${globalThis.crypto.randomUUID()}`;
  const abort = new AbortController();
  const collector = new StreamCollector();
  let started!: () => void;
  const watching = new Promise<void>((r) => (started = r));
  let begun = false;
  let printed = 0;
  const streamed = (async (): Promise<Answer | undefined> => {
    for await (const m of actor.observe({
      accountIds: actor.accountId ? [actor.accountId] : [],
      onStarted: () => started(),
      signal: abort.signal,
    })) {
      if (m.parentMessageId !== messageId) continue;
      const state = collector.add(m);
      if (!state) continue;
      if (!begun) {
        begun = true;
        o.onStreamStart(m.from.username);
      }
      if (state.text.length > printed) {
        o.onPiece(state.text.slice(printed));
        printed = state.text.length;
      }
      if (state.done) return { kind: "stream", from: m.from.username, text: state.text, ...(state.error ? { error: state.error } : {}) };
    }
    return undefined;
  })();
  // A failed watch must not hide the answer: the reply still arrives through the Request call.
  const watchFailed = streamed.catch(() => undefined);
  await Promise.race([watching, watchFailed]);
  const replied = actor
    .request(to, { text }, { threadId: o.threadId, timeoutMs: o.timeoutMs, messageId, signal: abort.signal })
    .then((reply): Answer => ({ kind: "reply", reply, text: reply.text ?? JSON.stringify(reply.payload) }));
  try {
    // Whichever comes first: the reply, or the end of a streamed answer (then the Request's wait is abandoned).
    return await Promise.race([replied, watchFailed.then((a) => a ?? replied)]);
  } finally {
    abort.abort();
    replied.catch(() => undefined);
    await watchFailed;
  }
}
