/** What offering a message needs to know of one of an account's live streams on this gateway. */
export interface StreamLoad {
  maxInFlight: number;
  /** Pushed and not yet acked. */
  inFlight: ReadonlyMap<string, unknown>;
  /** Waiting for room in flight. */
  queued: ReadonlyMap<string, unknown>;
  /** Places claimed by messages being stored for it. */
  reserved?: number;
}

/** How many more messages a stream may take now. */
export function room(s: StreamLoad): number {
  return s.maxInFlight - s.inFlight.size - s.queued.size - (s.reserved ?? 0);
}

export type StreamPick<S> =
  /** Give it to this stream. */
  | { to: S }
  /** A stream already has it (an announcement and a backlog read crossed): nothing to do. */
  | { held: true }
  /** Every stream is full: it stays in the store, and `fullest` reads it when it has room. */
  | { full: S };

/**
 * Which stream gets a live message: the one with the most room, ties going round robin from `start` (the caller
 * moves `start` on by one per offer). Pure, so the rule is tested without sockets.
 */
export function pickStream<S extends StreamLoad>(streams: readonly S[], start: number, messageId: string): StreamPick<S> | undefined {
  if (streams.length === 0) return undefined;
  for (const s of streams) if (s.inFlight.has(messageId) || s.queued.has(messageId)) return { held: true };
  let best: S | undefined;
  for (let i = 0; i < streams.length; i++) {
    const s = streams[(start + i) % streams.length]!;
    if (!best || room(s) > room(best)) best = s;
  }
  return room(best!) <= 0 ? { full: best! } : { to: best! };
}
