// Threads the user may read, newest activity first, and a thread's messages paged newest first with its counters.
import type { AgentnetClient } from "@agentnet/client/browser";
import type { Envelope, GetThreadStatusResponse, ThreadSummary } from "@agentnet/client/gen";
import { useEffect, useState } from "preact/hooks";
import { dateTimeOf, sizeOf, timeOf } from "../format.js";
import { MessageItem } from "../message-item.js";
import { describeError } from "../use-stream.js";
import { ErrorNote } from "../error-note.js";

const PAGE = 25;

export function Threads({ client, selected }: { client: AgentnetClient; selected: string | undefined }) {
  const [threads, setThreads] = useState<ThreadSummary[]>([]);
  const [cursor, setCursor] = useState("");
  const [query, setQuery] = useState("");
  const [error, setError] = useState<string | undefined>();
  const [loading, setLoading] = useState(false);

  const load = async (from: string, replace: boolean) => {
    setLoading(true);
    setError(undefined);
    try {
      const page = await client.listThreads({ limit: PAGE, cursor: from, ...(query.trim() ? { query: query.trim() } : {}) });
      setThreads((prev) => (replace ? page.items : [...prev, ...page.items]));
      setCursor(page.nextCursor);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    void load("", true);
  }, [client]);

  return (
    <div class={selected ? "split" : ""}>
      <section aria-labelledby="threads-title">
        <div class="section-head">
          <h2 id="threads-title">Threads</h2>
          <button type="button" onClick={() => load("", true)} disabled={loading}>
            Refresh
          </button>
        </div>
        <form
          class="filters"
          aria-label="Filter"
          onSubmit={(e) => {
            e.preventDefault();
            void load("", true);
          }}
        >
          <label>
            Thread id contains
            <input type="search" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
          </label>
          <button type="submit">Search</button>
        </form>
        <ErrorNote errors={[error]} />
        <ul class="threads">
          {threads.map((t) => (
            <li key={t.threadId} aria-current={selected === t.threadId ? "true" : undefined}>
              <a href={`#/threads/${encodeURIComponent(t.threadId)}`}>{t.threadId}</a>
              <div class="muted small">
                {t.participants.map((p) => `@${p.username}`).join(", ")} · {String(t.messageCount)} messages · {timeOf(t.lastMessageAt)}
                {t.chatSessionId && " · chat session"}
              </div>
            </li>
          ))}
        </ul>
        {!loading && threads.length === 0 && <p class="muted empty">No thread you may read yet.</p>}
        {cursor && (
          <button type="button" onClick={() => load(cursor, false)} disabled={loading}>
            Older threads
          </button>
        )}
      </section>
      {selected && <ThreadMessages client={client} threadId={selected} />}
    </div>
  );
}

function ThreadMessages({ client, threadId }: { client: AgentnetClient; threadId: string }) {
  const [messages, setMessages] = useState<Envelope[]>([]);
  const [cursor, setCursor] = useState("");
  const [status, setStatus] = useState<GetThreadStatusResponse | undefined>();
  const [error, setError] = useState<string | undefined>();

  const load = async (from: string) => {
    try {
      const page = await client.getThreadMessages(threadId, { limit: PAGE, cursor: from });
      setMessages((prev) => (from ? [...prev, ...page.items] : page.items));
      setCursor(page.nextCursor);
    } catch (err) {
      setError(describeError(err));
    }
  };
  useEffect(() => {
    setMessages([]);
    setError(undefined);
    void load("");
    client
      .threadStatus(threadId)
      .then(setStatus)
      .catch(() => setStatus(undefined));
  }, [client, threadId]);

  return (
    <aside class="panel" aria-labelledby="thread-title">
      <div class="section-head">
        <h2 id="thread-title">{threadId}</h2>
        <a href="#/threads" class="close" aria-label="Close the thread">
          ×
        </a>
      </div>
      {status && (
        <dl class="facts counters">
          <dt>Messages</dt>
          <dd>{String(status.messageCount)}</dd>
          <dt>Pending</dt>
          <dd>{String(status.pendingMessages)}</dd>
          <dt>Size</dt>
          <dd>{sizeOf(status.byteCount)}</dd>
          <dt>Tokens (approx.)</dt>
          <dd>{String(status.approxTokens)}</dd>
          <dt>Started</dt>
          <dd>{dateTimeOf(status.createdAt)}</dd>
        </dl>
      )}
      <ErrorNote errors={[error]} />
      <ol class="messages">
        {messages.map((m) => (
          <MessageItem key={m.messageId} client={client} m={m} />
        ))}
      </ol>
      {cursor && (
        <button type="button" onClick={() => load(cursor)}>
          Older messages
        </button>
      )}
    </aside>
  );
}
