// One message as every list shows it: when, who to whom, kind, status, the payload as pretty JSON, and the blobs it
// references with a download link (fetched through GetBlob with the user's own credentials, as the recipient may).
import type { AgentnetClient } from "@agentnet/client/browser";
import { type BlobInfo, DeliveryStatus, type Envelope, MessageKind } from "@agentnet/client/gen";
import { useState } from "preact/hooks";
import { enumName, prettyJson, sizeOf, timeOf } from "./format.js";
import { describeError } from "./use-stream.js";

export function MessageItem({ client, m, showThread = false }: { client: AgentnetClient; m: Envelope; showThread?: boolean }) {
  const kind = enumName(MessageKind, m.kind, "MESSAGE_KIND_");
  const status = m.status ? enumName(DeliveryStatus, m.status, "DELIVERY_STATUS_") : "";
  return (
    <li class="message" data-message-id={m.messageId}>
      <div class="message-head">
        <time>{timeOf(m.sentAt)}</time>
        <strong>@{m.fromUsername}</strong>
        <span aria-hidden="true">→</span>
        <span class="visually-hidden">to</span>
        <strong>{m.toUsername ? `@${m.toUsername}` : m.toAccountId}</strong>
        <span class={`tag kind-${kind}`}>{kind}</span>
        {status && <span class={`tag status-${status}`}>{status}</span>}
        {showThread && (
          <a class="muted small" href={`#/threads/${encodeURIComponent(m.threadId)}`}>
            {m.threadId}
          </a>
        )}
      </div>
      <pre class="payload">{prettyJson(m.payload)}</pre>
      {m.blobs.length > 0 && (
        <ul class="blobs">
          {m.blobs.map((b) => (
            <BlobLink key={b.blobId} client={client} blob={b} />
          ))}
        </ul>
      )}
    </li>
  );
}

function BlobLink({ client, blob }: { client: AgentnetClient; blob: BlobInfo }) {
  const [error, setError] = useState<string | undefined>();
  const download = async () => {
    setError(undefined);
    try {
      const { data } = await client.getBlob(blob.blobId);
      const url = URL.createObjectURL(new Blob([data as Uint8Array<ArrayBuffer>], { type: blob.mimeType || "application/octet-stream" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = blob.filename || blob.blobId;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      setError(describeError(err));
    }
  };
  return (
    <li>
      <span class="tag">blob</span> {blob.filename || blob.blobId}{" "}
      <span class="muted">
        ({sizeOf(blob.sizeBytes)}, {blob.mimeType || "bytes"})
      </span>{" "}
      <button type="button" class="link" onClick={download}>
        Download
      </button>
      {error && <span class="error"> {error}</span>}
    </li>
  );
}
