// Chat with hosted agents: create a HUMAN_AGENT session with any configured provider and watch its answers stream
// in, or an AGENT_AGENT session and watch the agents converse. A reload resumes after the last seq seen.
import type { AgentnetClient, ChatSessionTypeName } from "@agentnet/client/browser";
import { type ChatSession, type ProviderInfo, type SessionEvent, SessionStatus, SessionType } from "@agentnet/client/gen";
import { useEffect, useRef, useState } from "preact/hooks";
import { type ChatLog, addEvent, loadChatLog, saveChatLog } from "../chat-log.js";
import { enumName, timeOf } from "../format.js";
import { describeError, useStream } from "../use-stream.js";
import { ErrorNote } from "../error-note.js";

export function Chat({ client, selected }: { client: AgentnetClient; selected: string | undefined }) {
  const [sessions, setSessions] = useState<ChatSession[]>([]);
  const [providers, setProviders] = useState<ProviderInfo[]>([]);
  const [error, setError] = useState<string | undefined>();

  const reload = () =>
    client
      .listChatSessions()
      .then((s) => setSessions(s.sort((a, b) => Number((b.createdAt?.seconds ?? 0n) - (a.createdAt?.seconds ?? 0n)))))
      .catch((err: unknown) => setError(describeError(err)));
  useEffect(() => {
    void reload();
    client
      .listChatProviders()
      .then(setProviders)
      .catch((err: unknown) => setError(describeError(err)));
  }, [client]);

  return (
    <div class="split">
      <section aria-labelledby="chat-title">
        <h2 id="chat-title">Chat sessions</h2>
        <ErrorNote errors={[error]} />
        <NewSession
          client={client}
          providers={providers}
          onCreated={(s) => {
            void reload();
            window.location.hash = `#/chat/${s.sessionId}`;
          }}
        />
        <ul class="threads">
          {sessions.map((s) => (
            <li key={s.sessionId} aria-current={selected === s.sessionId ? "true" : undefined}>
              <a href={`#/chat/${s.sessionId}`}>{Object.keys(s.agents).join(" & ") || s.sessionId}</a>
              <div class="muted small">
                {enumName(SessionType, s.sessionType, "SESSION_TYPE_")} · {enumName(SessionStatus, s.status, "SESSION_STATUS_")} ·{" "}
                {timeOf(s.createdAt)}
              </div>
            </li>
          ))}
        </ul>
      </section>
      {selected ? (
        <Conversation
          key={selected}
          client={client}
          sessionId={selected}
          session={sessions.find((s) => s.sessionId === selected)}
          onDeleted={() => void reload()}
        />
      ) : (
        <aside class="panel muted">Pick a session, or start one.</aside>
      )}
    </div>
  );
}

function NewSession({
  client,
  providers,
  onCreated,
}: {
  client: AgentnetClient;
  providers: ProviderInfo[];
  onCreated: (s: ChatSession) => void;
}) {
  const usable = providers.filter((p) => p.configured);
  const [type, setType] = useState<ChatSessionTypeName>("human_agent");
  const [first, setFirst] = useState({ name: "assistant", provider: "echo" });
  const [second, setSecond] = useState({ name: "critic", provider: "echo" });
  const [goal, setGoal] = useState("");
  const [opening, setOpening] = useState("");
  const [turns, setTurns] = useState(6);
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const agents: Record<string, { provider: string }> = { [first.name.trim()]: { provider: first.provider } };
      if (type === "agent_agent") agents[second.name.trim()] = { provider: second.provider };
      const session = await client.createChatSession({
        type,
        agents,
        ...(goal.trim() ? { goal: goal.trim() } : {}),
        ...(type === "agent_agent" && opening.trim() ? { openingMessage: opening.trim() } : {}),
        ...(type === "agent_agent" ? { maxTurns: turns } : {}),
      });
      onCreated(session);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  const providerSelect = (value: string, set: (v: string) => void, label: string) => (
    <label>
      {label}
      <select value={value} onChange={(e) => set(e.currentTarget.value)}>
        {usable.map((p) => (
          <option key={p.name} value={p.name}>
            {p.name}
            {p.defaultModel ? ` (${p.defaultModel})` : ""}
          </option>
        ))}
      </select>
    </label>
  );

  return (
    <details class="card" open>
      <summary>New session</summary>
      <form class="compose" onSubmit={submit}>
        <fieldset class="inline">
          <legend>Who talks</legend>
          <label class="check">
            <input type="radio" name="type" checked={type === "human_agent"} onChange={() => setType("human_agent")} /> You and an agent
          </label>
          <label class="check">
            <input type="radio" name="type" checked={type === "agent_agent"} onChange={() => setType("agent_agent")} /> Two agents
          </label>
        </fieldset>
        <div class="row">
          <label>
            Agent name
            <input required value={first.name} onInput={(e) => setFirst({ ...first, name: e.currentTarget.value })} />
          </label>
          {providerSelect(first.provider, (provider) => setFirst({ ...first, provider }), "Provider")}
        </div>
        {type === "agent_agent" && (
          <>
            <div class="row">
              <label>
                Second agent
                <input required value={second.name} onInput={(e) => setSecond({ ...second, name: e.currentTarget.value })} />
              </label>
              {providerSelect(second.provider, (provider) => setSecond({ ...second, provider }), "Provider")}
            </div>
            <label>
              Turns before it stops
              <input type="number" min={1} max={200} required value={turns} onInput={(e) => setTurns(Number(e.currentTarget.value))} />
            </label>
            <label>
              Opening message
              <input value={opening} onInput={(e) => setOpening(e.currentTarget.value)} placeholder="what the first agent hears" />
            </label>
          </>
        )}
        <label>
          <span>
            Goal <span class="muted">(optional)</span>
          </span>
          <input value={goal} onInput={(e) => setGoal(e.currentTarget.value)} />
        </label>
        <ErrorNote errors={[error]} />
        <button type="submit" class="primary" disabled={busy || usable.length === 0}>
          Start
        </button>
      </form>
    </details>
  );
}

// The session's description comes from the list the view already read: session queries are few (the seed's 10 a
// minute per user), so a conversation spends just one, on its stream.
function Conversation({
  client,
  sessionId,
  session,
  onDeleted,
}: {
  client: AgentnetClient;
  sessionId: string;
  session: ChatSession | undefined;
  onDeleted: () => void;
}) {
  const [log, setLog] = useState<ChatLog>(() => loadChatLog(sessionId));
  const [text, setText] = useState("");
  const [error, setError] = useState<string | undefined>();
  const bottom = useRef<HTMLDivElement>(null);
  // The seq to resume after is read once, when the stream opens: later events move it on inside the stream.
  const resumeAfter = useRef(log.lastSeq);

  const stream = useStream(
    (signal) => client.streamChatSession(sessionId, { afterSeq: resumeAfter.current, signal }),
    (e: SessionEvent) =>
      setLog((prev) => {
        const next = addEvent(prev, e);
        if (next !== prev) saveChatLog(sessionId, next);
        return next;
      }),
    [client, sessionId],
  );
  useEffect(() => bottom.current?.scrollIntoView({ block: "end" }), [log]);

  const send = async (e: Event) => {
    e.preventDefault();
    const content = text.trim();
    if (!content) return;
    setError(undefined);
    setText("");
    try {
      await client.sendChatMessage(sessionId, content);
    } catch (err) {
      setText(content);
      setError(describeError(err));
    }
  };
  const remove = async () => {
    try {
      await client.deleteChatSession(sessionId);
      sessionStorage.removeItem(`agentnet.console.chat.${sessionId}`);
      onDeleted();
      window.location.hash = "#/chat";
    } catch (err) {
      setError(describeError(err));
    }
  };
  const humanAgent = session?.sessionType !== SessionType.AGENT_AGENT;

  return (
    <aside class="panel conversation" aria-labelledby="conversation-title">
      <div class="section-head">
        <h2 id="conversation-title">{session ? Object.keys(session.agents).join(" & ") : sessionId}</h2>
        <span class={`badge ${log.ended ? "ended" : stream.state}`} data-testid="chat-state">
          {log.ended ? "ended" : stream.state}
        </span>
        <span class="muted small" data-testid="last-seq">
          seq {log.lastSeq}
        </span>
        <button type="button" class="danger" onClick={remove}>
          Delete
        </button>
      </div>
      <ErrorNote errors={[error, stream.error]} />
      <ol class="chat" aria-live="polite">
        {log.items.map((it) => (
          <li key={it.key} class={`bubble ${it.kind} ${it.user ? "mine" : ""}`} data-kind={it.kind}>
            {it.kind !== "notice" && <span class="sender">{it.sender || (it.user ? "you" : "agent")}</span>}
            <span class="content">{it.content}</span>
          </li>
        ))}
      </ol>
      <div ref={bottom} />
      {humanAgent && !log.ended && (
        <form class="say" onSubmit={send}>
          <label class="grow">
            <span class="visually-hidden">Message</span>
            <input
              name="say"
              value={text}
              onInput={(e) => setText(e.currentTarget.value)}
              placeholder="Say something…"
              autocomplete="off"
            />
          </label>
          <button type="submit" class="primary">
            Send
          </button>
        </form>
      )}
    </aside>
  );
}
