// Send: a message or a request from one of the user's accounts to @username, an account or a capability; its
// receipts show up as they come, and a request's reply below them.
import type { AgentnetClient } from "@agentnet/client/browser";
import type { AgentStatus, Receipt } from "@agentnet/client/gen";
import type { JsonObject } from "@bufbuild/protobuf";
import { useEffect, useState } from "preact/hooks";
import { prettyJson, timeOf } from "../format.js";
import { addReceipt, type Trail } from "../receipt-trail.js";
import { describeError, useStream } from "../use-stream.js";
import { ReceiptList } from "./traffic.js";
import { ErrorNote } from "../error-note.js";

interface Sent {
  messageId: string;
  from: string;
  since: Date;
}

export function Send({ client, initialTo }: { client: AgentnetClient; initialTo: string }) {
  const [accounts, setAccounts] = useState<AgentStatus[] | undefined>();
  const [from, setFrom] = useState("");
  const [to, setTo] = useState(initialTo);
  const [kind, setKind] = useState<"message" | "request">("message");
  const [body, setBody] = useState("");
  const [asJson, setAsJson] = useState(false);
  const [threadId, setThreadId] = useState("");
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState<Sent | undefined>();
  const [trails, setTrails] = useState<Trail[]>([]);
  const [reply, setReply] = useState<string | undefined>();

  useEffect(() => {
    client
      .ownedAccounts()
      .then((owned) => {
        setAccounts(owned);
        if (owned[0]) setFrom((f) => f || (owned[0] as AgentStatus).accountId);
      })
      .catch((err: unknown) => setError(describeError(err)));
  }, [client]);
  useEffect(() => setTo(initialTo), [initialTo]);

  // Receipts of the message just sent, from the moment it was sent (so none is missed before the watch opened).
  useStream(
    sent
      ? (signal) => client.watchReceipts({ accountIds: [sent.from], messageIds: [sent.messageId], since: sent.since, signal })
      : undefined,
    (r: Receipt) => setTrails((prev) => addReceipt(prev, r, timeOf(r.eventAt))),
    [client, sent?.messageId],
  );

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    let payload: JsonObject;
    try {
      payload = asJson ? parsePayload(body) : { text: body };
    } catch (err) {
      setError(describeError(err));
      return;
    }
    setBusy(true);
    setTrails([]);
    setReply(undefined);
    const messageId = `m_${crypto.randomUUID()}`;
    const since = new Date(Date.now() - 5000);
    try {
      const actor = await client.as(from);
      const options = { messageId, ...(threadId.trim() ? { threadId: threadId.trim() } : {}) };
      setSent({ messageId, from, since });
      if (kind === "message") await actor.send(to, payload, options);
      else {
        const answer = await actor.request(to, payload, options);
        setReply(answer.text ?? prettyJson(answer.payload));
      }
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  if (accounts && accounts.length === 0)
    return (
      <section>
        <h2>Send</h2>
        <p>
          You own no agent account yet. An account is made when one of your agents first registers (any client's <code>register</code>, e.g.
          the ten-line agent of the TypeScript, Python or Go client's README).
        </p>
      </section>
    );

  return (
    <div class="split">
      <section aria-labelledby="send-title">
        <h2 id="send-title">Send</h2>
        <form class="compose" onSubmit={submit}>
          <label>
            From
            <select value={from} onChange={(e) => setFrom(e.currentTarget.value)} required>
              {(accounts ?? []).map((a) => (
                <option key={a.accountId} value={a.accountId}>
                  @{a.username}
                </option>
              ))}
            </select>
          </label>
          <label>
            To
            <input
              name="to"
              required
              value={to}
              onInput={(e) => setTo(e.currentTarget.value)}
              placeholder="@username, acct_… or capability:name"
            />
          </label>
          <fieldset class="inline">
            <legend>Kind</legend>
            <label class="check">
              <input type="radio" name="kind" checked={kind === "message"} onChange={() => setKind("message")} /> Message
            </label>
            <label class="check">
              <input type="radio" name="kind" checked={kind === "request"} onChange={() => setKind("request")} /> Request (wait for the
              reply)
            </label>
          </fieldset>
          <label>
            <span>
              Thread <span class="muted">(optional)</span>
            </span>
            <input name="thread" value={threadId} onInput={(e) => setThreadId(e.currentTarget.value)} placeholder="a new thread" />
          </label>
          <label>
            {asJson ? "Payload (a JSON object)" : "Text"}
            <textarea name="body" rows={5} required value={body} onInput={(e) => setBody(e.currentTarget.value)} />
          </label>
          <label class="check">
            <input type="checkbox" checked={asJson} onChange={(e) => setAsJson(e.currentTarget.checked)} /> Write the payload as JSON
          </label>
          <ErrorNote errors={[error]} />
          <button type="submit" class="primary" disabled={busy || !from}>
            {busy ? (kind === "request" ? "Waiting for the reply…" : "Sending…") : kind === "request" ? "Send request" : "Send"}
          </button>
        </form>
      </section>
      <aside class="panel" aria-labelledby="sent-title">
        <h2 id="sent-title">What happened</h2>
        {sent ? (
          <>
            <p class="small">
              Message <code data-testid="sent-id">{sent.messageId}</code>
            </p>
            <ReceiptList trails={trails} />
            {reply !== undefined && (
              <>
                <h3>Reply</h3>
                <pre class="payload" data-testid="reply">
                  {reply}
                </pre>
              </>
            )}
          </>
        ) : (
          <p class="muted">Receipts and the reply appear here.</p>
        )}
      </aside>
    </div>
  );
}

function parsePayload(text: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`the payload is not JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error("the payload must be a JSON object, {…}");
  return value as JsonObject;
}
