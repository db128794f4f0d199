// Streamed answers (the seed's streaming protocol): a sequence of STREAM messages whose payload.type is
// stream_start, stream_delta (text pieces), stream_end or stream_error, sharing payload.stream_id and the parent
// message, numbered by payload.seq. The receiver reassembles them in seq order (redelivery may reorder parts).
import type { JsonObject } from "@bufbuild/protobuf";
import type { SendResponse } from "@agentnet/gen/agentnet/v1/messaging_pb.js";
import type { MessageView } from "./message.js";

export type StreamPartType = "stream_start" | "stream_delta" | "stream_end" | "stream_error";

/** Sends one part; supplied by whoever opens the stream (bound to recipient, thread and parent). */
export type SendPart = (payload: JsonObject) => Promise<SendResponse>;

export class StreamWriter {
  private seq = 0;
  private ended = false;

  constructor(
    private readonly sendPart: SendPart,
    readonly streamId: string = `s_${globalThis.crypto.randomUUID()}`,
  ) {}

  start(extra: JsonObject = {}): Promise<SendResponse> {
    return this.part("stream_start", extra);
  }
  /** A piece of text (or any fields) of the answer. */
  delta(piece: string | JsonObject): Promise<SendResponse> {
    return this.part("stream_delta", typeof piece === "string" ? { text: piece } : piece);
  }
  end(extra: JsonObject = {}): Promise<SendResponse> {
    return this.part("stream_end", extra, true);
  }
  error(code: string, detail = ""): Promise<SendResponse> {
    return this.part("stream_error", { code, detail }, true);
  }

  private async part(type: StreamPartType, extra: JsonObject, last = false): Promise<SendResponse> {
    if (this.ended) throw new Error(`stream ${this.streamId} already ended`);
    if (last) this.ended = true;
    const seq = this.seq++;
    return this.sendPart({ ...extra, type, stream_id: this.streamId, seq });
  }
}

export interface AssembledStream {
  streamId: string;
  /** The stream_delta texts joined in seq order so far. */
  text: string;
  done: boolean;
  /** Set when the stream ended with stream_error. */
  error?: { code: string; detail: string };
  /** The stream_start payload, once seen. */
  start?: JsonObject;
}

/** Reassembles streams from received STREAM messages, whatever order they arrive in. */
export class StreamCollector {
  private readonly streams = new Map<string, { parts: Map<number, JsonObject>; endSeq?: number }>();

  /** Adds one part and returns the stream's state, or undefined when the message is not a stream part. */
  add(message: MessageView): AssembledStream | undefined {
    const p = message.payload;
    const streamId = p["stream_id"];
    const seq = p["seq"];
    if (message.kind !== "stream" || typeof streamId !== "string" || typeof seq !== "number") return undefined;
    let s = this.streams.get(streamId);
    if (!s) this.streams.set(streamId, (s = { parts: new Map() }));
    s.parts.set(seq, p);
    if (p["type"] === "stream_end" || p["type"] === "stream_error") s.endSeq = seq;
    return this.state(streamId);
  }

  state(streamId: string): AssembledStream | undefined {
    const s = this.streams.get(streamId);
    if (!s) return undefined;
    const out: AssembledStream = { streamId, text: "", done: false };
    // Only the contiguous prefix counts: a gap means a part is still on its way.
    for (let seq = 0; s.parts.has(seq); seq++) {
      const p = s.parts.get(seq)!;
      if (p["type"] === "stream_start") out.start = p;
      if (p["type"] === "stream_delta" && typeof p["text"] === "string") out.text += p["text"];
      if (p["type"] === "stream_error") out.error = { code: String(p["code"] ?? ""), detail: String(p["detail"] ?? "") };
      if (seq === s.endSeq) out.done = true;
    }
    return out;
  }
}
