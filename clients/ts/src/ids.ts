/** A client-chosen message id: chosen before the first attempt, so a retried Send is recognised as the same message. */
export function newMessageId(): string {
  return `m_${globalThis.crypto.randomUUID()}`;
}
