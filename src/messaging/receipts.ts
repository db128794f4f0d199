import type { Bus } from "../bus/index.js";
import type { Metrics } from "../metrics/index.js";
import { type ReceiptRecord, encodeReceipt, receiptSubject } from "../wire/index.js";

/**
 * The one way a receipt leaves this gateway, whoever made it (a delivery, an ack, a reply, the expiry sweep): on
 * the bus to every gateway's watchers and consumers, and at once to this gateway's own streams, which would
 * otherwise wait for the bus copy (that copy still arrives and is harmless).
 */
export class ReceiptPublisher {
  private readonly local = new Set<(receipt: ReceiptRecord) => void>();
  private readonly counted: Record<ReceiptRecord["status"], { inc(): void }>;

  constructor(
    private readonly bus: Bus,
    private readonly metrics: Metrics,
  ) {
    const m = metrics.messages;
    this.counted = {
      accepted: m.labels("accepted"),
      delivered: m.labels("delivered"),
      processed: m.labels("processed"),
      rejected: m.labels("rejected"),
      expired: m.labels("expired"),
    };
  }

  publish(receipt: ReceiptRecord): void {
    // Every status change of a message is one receipt, made once on the gateway that recorded it: the one place to
    // count them.
    this.counted[receipt.status].inc();
    if (receipt.status === "delivered" && receipt.deliveryAttempt > 1) this.metrics.redeliveries.inc();
    this.bus.publish(receiptSubject(receipt.senderAccountId, receipt.recipientAccountId, receipt.status), encodeReceipt(receipt));
    for (const listener of this.local) listener(receipt);
  }

  /** Hears every receipt this gateway publishes, synchronously; returns the unsubscribe. */
  onPublished(listener: (receipt: ReceiptRecord) => void): () => void {
    this.local.add(listener);
    return () => this.local.delete(listener);
  }
}
