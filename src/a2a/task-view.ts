import type { RequestProgress, StoredMessage } from "../messaging/index.js";
import {
  type Artifact,
  type JsonObject,
  type JsonValue,
  type Message,
  type Part,
  type StreamEvent,
  TERMINAL_STATES,
  type Task,
  type TaskState,
  type TaskStatus,
} from "./model.js";
import type { TaskRecord } from "./task-store.js";

// A task is a view over agentnet: the request's delivery status and what its recipient sent back (the seed's
// stream parts, a reply, an error), folded in storage order. Folding the same stored rows always gives the same
// task, on any gateway and after any restart; folding new rows gives the events a stream shows.

/** Metadata key of every streamed event: the agentnet sequence number it stands at (the resume position). */
export const SEQ_KEY = "agentnet.dev/seq";

/** The artifact a reply becomes. */
const REPLY_ARTIFACT = "reply";

export class TaskView {
  private state: TaskState = "TASK_STATE_SUBMITTED";
  private statusMessage: Message | undefined;
  private timestamp: Date;
  private readonly artifacts = new Map<string, Artifact>();
  /** Stream ids whose first piece was shown (later pieces append). */
  private readonly streamsShown = new Set<string>();
  private readonly agentMessages: Message[] = [];
  /** The highest answer seq folded in. */
  position = 0;

  /** `fresh`: the task was created by this call (nobody else can have canceled it before its first read). */
  constructor(
    readonly record: TaskRecord,
    readonly fresh = false,
  ) {
    this.timestamp = record.createdAt;
  }

  get currentState(): TaskState {
    return this.state;
  }

  get terminal(): boolean {
    return TERMINAL_STATES.has(this.state);
  }

  get stateAt(): Date {
    return this.timestamp;
  }

  /**
   * Folds in what is new in `progress` and returns the events that shows, in order. With `statusToo` false only
   * answers are folded (a resumed stream catching up silently to where its client was).
   */
  fold(progress: RequestProgress, statusToo = true): StreamEvent[] {
    const events: StreamEvent[] = [];
    const canceledAt = this.record.canceledAt;
    for (const answer of progress.answers) {
      if (answer.seq <= this.position) continue;
      this.position = answer.seq;
      // Answers after a cancellation do not change the task (the agent may not have heard of it yet).
      if (this.terminal || (canceledAt && answer.sentAt > canceledAt)) continue;
      events.push(...this.answer(answer));
    }
    if (!statusToo) return events;
    if (!this.terminal && canceledAt) {
      events.push(this.move("TASK_STATE_CANCELED", canceledAt, agentText(this.record, "the task was canceled")));
      return events;
    }
    if (this.terminal) return events;
    switch (progress.status) {
      case "accepted":
        break;
      case "delivered":
        if (this.state === "TASK_STATE_SUBMITTED") events.push(this.move("TASK_STATE_WORKING", progress.updatedAt));
        break;
      case "processed":
        // Acked without a reply: done, with whatever was streamed.
        events.push(this.move("TASK_STATE_COMPLETED", progress.updatedAt));
        break;
      case "rejected":
        events.push(
          this.move("TASK_STATE_REJECTED", progress.updatedAt, agentText(this.record, reason(progress.statusCode, progress.statusDetail))),
        );
        break;
      case "expired":
        events.push(
          this.move("TASK_STATE_FAILED", progress.updatedAt, agentText(this.record, "the message expired before the agent answered it")),
        );
        break;
    }
    return events;
  }

  /** The task as A2A shows it; `historyLength` keeps the latest messages (undefined: all, 0: none). */
  task(options: { historyLength?: number | undefined; includeArtifacts?: boolean } = {}): Task {
    const { record } = this;
    const history = [record.message, ...this.agentMessages];
    const kept = options.historyLength === undefined ? history : options.historyLength === 0 ? [] : history.slice(-options.historyLength);
    const artifacts = [...this.artifacts.values()];
    return {
      id: record.taskId,
      contextId: record.contextId,
      status: this.status(),
      ...(options.includeArtifacts !== false && artifacts.length > 0 && { artifacts }),
      ...(kept.length > 0 && { history: kept }),
      metadata: {
        "agentnet.dev/agent": record.agentUsername,
        "agentnet.dev/request_message_id": record.requestMessageId,
        "agentnet.dev/thread_id": record.threadId,
        [SEQ_KEY]: this.position,
      },
    };
  }

  status(): TaskStatus {
    return { state: this.state, ...(this.statusMessage && { message: this.statusMessage }), timestamp: this.timestamp.toISOString() };
  }

  /** A status-update event for the current status (what a resumed stream starts from). */
  statusEvent(): StreamEvent {
    return {
      statusUpdate: { taskId: this.record.taskId, contextId: this.record.contextId, status: this.status(), metadata: this.seq() },
    };
  }

  private answer(answer: StoredMessage): StreamEvent[] {
    const payload = answer.payload as JsonObject;
    if (answer.kind === "reply") {
      const parts = partsOf(payload);
      const artifact: Artifact = { artifactId: REPLY_ARTIFACT, name: "reply", parts };
      this.artifacts.set(REPLY_ARTIFACT, artifact);
      const message = agentMessage(this.record, answer.messageId, parts);
      this.agentMessages.push(message);
      return [this.artifactEvent(artifact, false, true), this.move("TASK_STATE_COMPLETED", answer.sentAt, message)];
    }
    if (answer.kind === "error") {
      const code = typeof payload["code"] === "string" ? payload["code"] : "error";
      const detail = typeof payload["detail"] === "string" ? payload["detail"] : "";
      const message = agentMessage(this.record, answer.messageId, [{ text: reason(code, detail) }, { data: payload }]);
      this.agentMessages.push(message);
      return [this.move("TASK_STATE_FAILED", answer.sentAt, message)];
    }
    // A stream part (the seed's streaming protocol).
    const streamId = typeof payload["stream_id"] === "string" && payload["stream_id"] !== "" ? payload["stream_id"] : answer.messageId;
    switch (payload["type"]) {
      case "stream_start":
        return this.state === "TASK_STATE_WORKING" ? [] : [this.move("TASK_STATE_WORKING", answer.sentAt)];
      case "stream_delta": {
        const piece = pieceOf(payload);
        const existing = this.artifacts.get(streamId);
        const joined = existing ? appendPiece(existing.parts, piece) : [piece];
        this.artifacts.set(streamId, { artifactId: streamId, name: "stream", parts: joined });
        const append = this.streamsShown.has(streamId);
        this.streamsShown.add(streamId);
        const events: StreamEvent[] = this.state === "TASK_STATE_SUBMITTED" ? [this.move("TASK_STATE_WORKING", answer.sentAt)] : [];
        events.push(this.artifactEvent({ artifactId: streamId, name: "stream", parts: [piece] }, append, false));
        return events;
      }
      case "stream_end": {
        // The whole artifact once more, replacing the pieces: a client that missed one still ends up complete.
        const artifact = this.artifacts.get(streamId) ?? { artifactId: streamId, name: "stream", parts: [{ text: "" }] };
        this.artifacts.set(streamId, artifact);
        return [this.artifactEvent(artifact, false, true)];
      }
      case "stream_error": {
        const code = typeof payload["code"] === "string" ? payload["code"] : "stream_error";
        const detail = typeof payload["detail"] === "string" ? payload["detail"] : "";
        return [
          this.move("TASK_STATE_FAILED", answer.sentAt, agentMessage(this.record, answer.messageId, [{ text: reason(code, detail) }])),
        ];
      }
      default:
        return [];
    }
  }

  private move(state: TaskState, at: Date, message?: Message): StreamEvent {
    this.state = state;
    this.timestamp = at;
    this.statusMessage = message;
    return this.statusEvent();
  }

  private artifactEvent(artifact: Artifact, append: boolean, lastChunk: boolean): StreamEvent {
    return {
      artifactUpdate: {
        taskId: this.record.taskId,
        contextId: this.record.contextId,
        artifact,
        ...(append && { append }),
        ...(lastChunk && { lastChunk }),
        metadata: this.seq(),
      },
    };
  }

  private seq(): JsonObject {
    return { [SEQ_KEY]: this.position };
  }
}

function reason(code: string, detail: string): string {
  return detail === "" ? code : `${code}: ${detail}`;
}

function agentMessage(record: TaskRecord, messageId: string, parts: Part[]): Message {
  return { messageId, contextId: record.contextId, taskId: record.taskId, role: "ROLE_AGENT", parts };
}

function agentText(record: TaskRecord, text: string): Message {
  return agentMessage(record, `${record.taskId}:status`, [{ text }]);
}

/**
 * A reply's payload as A2A parts: an A2A-aware agent answers `{"a2a": {"parts": [...]}}` and its parts are kept as
 * they are; otherwise `text` becomes a text part and any other fields one JSON data part.
 */
export function partsOf(payload: JsonObject): Part[] {
  const a2a = payload["a2a"];
  if (isObject(a2a) && Array.isArray(a2a["parts"]) && a2a["parts"].length > 0 && a2a["parts"].every(isObject)) {
    return a2a["parts"] as Part[];
  }
  const parts: Part[] = [];
  const { text, ...rest } = payload;
  if (typeof text === "string") parts.push({ text });
  if (Object.keys(rest).length > 0 || parts.length === 0)
    parts.push({ data: typeof text === "string" ? rest : payload, mediaType: "application/json" });
  return parts;
}

/** A stream_delta's piece: its text, or its other fields as data. */
function pieceOf(payload: JsonObject): Part {
  const { type: _type, stream_id: _stream, seq: _seq, ...rest } = payload;
  if (typeof rest["text"] === "string" && Object.keys(rest).length === 1) return { text: rest["text"] };
  return { data: rest, mediaType: "application/json" };
}

/** The artifact's parts with one more piece: text runs join into one part, data pieces stay apart. */
function appendPiece(parts: Part[], piece: Part): Part[] {
  const last = parts.at(-1);
  if (last?.text !== undefined && piece.text !== undefined) return [...parts.slice(0, -1), { text: last.text + piece.text }];
  return [...parts, piece];
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
