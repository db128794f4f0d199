import { DomainError } from "../errors.js";

// A receipt's cursor (`Receipt.cursor`, `WatchReceiptsRequest.after_cursor`): opaque to clients, base64url of the
// receipt's id, so a stream resumes right after the last receipt its client saw.

export function encodeReceiptCursor(receiptId: number): string {
  return Buffer.from(`rcpt:${receiptId}`).toString("base64url");
}

export function decodeReceiptCursor(cursor: string): number {
  const match = /^rcpt:(\d+)$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  if (!match) {
    throw new DomainError("invalid_argument", "invalid_cursor", "after_cursor: not a receipt cursor; pass Receipt.cursor as given", {
      field: "after_cursor",
    });
  }
  return Number(match[1]);
}
