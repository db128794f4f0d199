import type { Bus } from "../bus/index.js";
import { type ReceiptRecord, encodeReceipt, receiptSubject } from "../wire/index.js";

/**
 * The one way a receipt leaves this gateway, whoever made it (a delivery, an ack, a reply, the expiry sweep): on
 * the bus to every gateway's watchers and consumers, and at once to this gateway's own streams, which would
 * otherwise wait for the bus copy (that copy still arrives and is harmless).
 */
export class ReceiptPublisher {
  private readonly local = new Set<(receipt: ReceiptRecord) => void>();

  constructor(private readonly bus: Bus) {}

  publish(receipt: ReceiptRecord): void {
    this.bus.publish(receiptSubject(receipt.senderAccountId, receipt.recipientAccountId, receipt.status), encodeReceipt(receipt));
    for (const listener of this.local) listener(receipt);
  }

  /** Hears every receipt this gateway publishes, synchronously; returns the unsubscribe. */
  onPublished(listener: (receipt: ReceiptRecord) => void): () => void {
    this.local.add(listener);
    return () => this.local.delete(listener);
  }
}
