// The wire between gateways: every bus subject, the record each carries and its codec. Domains publish and
// subscribe only through these; the bus below knows nothing of what travels.
import * as codecs from "./codecs.js";
import type { CredentialInvalidation, PresenceEventRecord, ReceiptRecord, SessionEventRecord, StoredMessage } from "./records.js";

export * from "./codecs.js";
export type * from "./records.js";
export * from "./subjects.js";

/** The typed union of inter-gateway messages: subject family (subjects.ts) → the record it carries. */
export interface WireMessages {
  inbox: StoredMessage;
  observe: StoredMessage;
  receipt: ReceiptRecord;
  reply: StoredMessage;
  presence: PresenceEventRecord;
  session: SessionEventRecord;
  /** The id of a session whose turn waits. */
  turn: string;
  "auth.invalidate": CredentialInvalidation;
}

interface Codec<T> {
  encode(value: T, ...context: string[]): Uint8Array;
  decode(data: Uint8Array): T | undefined;
}

/** One codec per family; the type makes a family without a codec, or a codec of the wrong record, a compile error. */
export const WIRE_CODECS: { [K in keyof WireMessages]: Codec<WireMessages[K]> } = {
  inbox: { encode: codecs.encodeMessage, decode: codecs.decodeMessage },
  observe: { encode: codecs.encodeMessage, decode: codecs.decodeMessage },
  receipt: { encode: codecs.encodeReceipt, decode: codecs.decodeReceipt },
  reply: { encode: codecs.encodeMessage, decode: codecs.decodeMessage },
  presence: { encode: (event, gatewayId = "") => codecs.encodePresenceEvent(event, gatewayId), decode: codecs.decodePresenceEvent },
  session: { encode: codecs.encodeSessionEvent, decode: codecs.decodeSessionEvent },
  turn: { encode: codecs.encodeTurnOffer, decode: codecs.decodeTurnOffer },
  "auth.invalidate": { encode: codecs.encodeInvalidation, decode: codecs.decodeInvalidation },
};
