import type { StoredMessage } from "./message.js";
import type { MessageStatus } from "./tables.js";

// JSON on the bus between gateways. Dates travel as epoch milliseconds and bytes as base64.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeMessage(m: StoredMessage): Uint8Array {
  return encoder.encode(
    JSON.stringify({
      ...m,
      sentAt: m.sentAt.getTime(),
      expiresAt: m.expiresAt.getTime(),
      signature: m.signature && {
        scheme: m.signature.scheme,
        publicKey: Buffer.from(m.signature.publicKey).toString("base64"),
        signature: Buffer.from(m.signature.signature).toString("base64"),
      },
    }),
  );
}

export function decodeMessage(data: Uint8Array): StoredMessage {
  const raw = JSON.parse(decoder.decode(data)) as Omit<StoredMessage, "sentAt" | "expiresAt" | "signature"> & {
    sentAt: number;
    expiresAt: number;
    signature: { scheme: string; publicKey: string; signature: string } | null;
  };
  return {
    ...raw,
    sentAt: new Date(raw.sentAt),
    expiresAt: new Date(raw.expiresAt),
    signature: raw.signature && {
      scheme: raw.signature.scheme,
      publicKey: Buffer.from(raw.signature.publicKey, "base64"),
      signature: Buffer.from(raw.signature.signature, "base64"),
    },
  };
}

/** A receipt as stored and streamed. `receiptId` orders a sender's receipts and is the resume cursor. */
export interface ReceiptRecord {
  receiptId: number;
  messageId: string;
  senderAccountId: string;
  recipientAccountId: string;
  status: MessageStatus;
  eventAt: Date;
  recipientSessionTag: string;
  threadId: string;
  traceId: string;
  code: string;
  detail: string;
  deliveryAttempt: number;
}

export function encodeReceipt(r: ReceiptRecord): Uint8Array {
  return encoder.encode(JSON.stringify({ ...r, eventAt: r.eventAt.getTime() }));
}

export function decodeReceipt(data: Uint8Array): ReceiptRecord {
  const raw = JSON.parse(decoder.decode(data)) as Omit<ReceiptRecord, "eventAt"> & { eventAt: number };
  return { ...raw, eventAt: new Date(raw.eventAt) };
}
