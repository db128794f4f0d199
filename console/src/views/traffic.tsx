// Live traffic: an OBSERVE copy of what moves through the user's accounts (admins: the whole network), as a
// scrolling, pausable list, and the receipts of what those accounts sent as they move on.
import type { AgentnetClient, MessageView } from "@agentnet/client/browser";
import type { Envelope, Receipt } from "@agentnet/client/gen";
import { useRef, useState } from "preact/hooks";
import { timeOf } from "../format.js";
import { MessageItem } from "../message-item.js";
import { addReceipt, type Trail } from "../receipt-trail.js";
import { type StreamState, useStream } from "../use-stream.js";
import { ErrorNote } from "../error-note.js";

const KEEP = 200;

export function Traffic({ client }: { client: AgentnetClient }) {
  const [messages, setMessages] = useState<Envelope[]>([]);
  const [trails, setTrails] = useState<Trail[]>([]);
  const [paused, setPaused] = useState(false);
  const [missed, setMissed] = useState(0);
  const pausedRef = useRef(false);
  // Live once the server says the stream started, before any item arrives.
  const [observing, setObserving] = useState(false);
  const [watching, setWatching] = useState(false);
  pausedRef.current = paused;

  const traffic = useStream(
    (signal) => client.observe({ onStarted: () => setObserving(true), signal }),
    (m: MessageView) => {
      // Paused: the list stands still for reading; what passes meanwhile is counted, not kept.
      if (pausedRef.current) setMissed((n) => n + 1);
      else setMessages((prev) => [m.envelope, ...prev].slice(0, KEEP));
    },
    [client],
  );
  const receipts = useStream(
    (signal) => client.watchReceipts({ onSynced: () => setWatching(true), signal }),
    (r: Receipt) => setTrails((prev) => addReceipt(prev, r, timeOf(r.eventAt))),
    [client],
  );

  return (
    <div class="split">
      <section aria-labelledby="traffic-title">
        <div class="section-head">
          <h2 id="traffic-title">Live traffic</h2>
          <span class={`badge ${liveness(traffic.state, observing)}`}>{liveness(traffic.state, observing)}</span>
          <button
            type="button"
            aria-pressed={paused}
            onClick={() => {
              setPaused(!paused);
              setMissed(0);
            }}
          >
            {paused ? "Resume" : "Pause"}
          </button>
          {paused && missed > 0 && <span class="muted">{missed} passed while paused</span>}
        </div>
        <ErrorNote errors={[traffic.error]} />
        <ol class="messages" aria-live="off">
          {messages.map((m) => (
            <MessageItem key={`${m.messageId}:${m.deliveryAttempt}`} client={client} m={m} showThread />
          ))}
        </ol>
        {messages.length === 0 && <p class="muted empty">Waiting for traffic through your accounts…</p>}
      </section>
      <aside class="panel" aria-labelledby="receipts-title">
        <div class="section-head">
          <h2 id="receipts-title">Receipts</h2>
          <span class={`badge ${liveness(receipts.state, watching)}`}>{liveness(receipts.state, watching)}</span>
        </div>
        <ErrorNote errors={[receipts.error]} />
        <ReceiptList trails={trails} />
      </aside>
    </div>
  );
}

function liveness(state: StreamState, started: boolean): StreamState {
  return state === "connecting" && started ? "live" : state;
}

export function ReceiptList({ trails }: { trails: Trail[] }) {
  if (trails.length === 0) return <p class="muted empty">No receipts yet.</p>;
  return (
    <ol class="receipts">
      {trails.map((t) => (
        <li key={t.messageId} data-message-id={t.messageId}>
          <code class="small">{t.messageId}</code>
          <ol class="trail" aria-label="statuses">
            {t.statuses.map((s, i) => (
              <li key={`${s.status}${i}`} class={`tag status-${s.status}`} title={s.at}>
                {s.status}
                {s.code && `: ${s.code}`}
              </li>
            ))}
          </ol>
        </li>
      ))}
    </ol>
  );
}
