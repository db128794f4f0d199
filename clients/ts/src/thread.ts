// The seed's `sdk.thread(id)`: the sending verbs with the thread filled in, plus the thread's history and status.
import type { JsonObject } from "@bufbuild/protobuf";
import type { Envelope, GetThreadStatusResponse, SendResponse } from "@agentnet/gen/agentnet/v1/messaging_pb.js";
import type { Actor, RequestOptions, SendOptions, TextAnswer } from "./actor.js";
import type { Page, PageOptions } from "./discovery.js";
import type { MessageView } from "./message.js";
import type { Target } from "./recipient.js";
import type { StreamWriter } from "./streaming.js";

export class Thread {
  constructor(
    private readonly actor: Actor,
    readonly threadId: string,
  ) {}

  send(to: Target, payload: JsonObject, o: SendOptions = {}): Promise<SendResponse> {
    return this.actor.send(to, payload, { ...o, threadId: this.threadId });
  }
  sendText(to: Target, text: string, o: SendOptions = {}): Promise<SendResponse> {
    return this.actor.sendText(to, text, { ...o, threadId: this.threadId });
  }
  request(to: Target, payload: JsonObject, o: RequestOptions = {}): Promise<MessageView> {
    return this.actor.request(to, payload, { ...o, threadId: this.threadId });
  }
  askText(to: Target, text: string, o: RequestOptions = {}): Promise<TextAnswer> {
    return this.actor.askText(to, text, { ...o, threadId: this.threadId });
  }
  stream(to: Target, o: { parentMessageId?: string; ttlMs?: number } = {}): StreamWriter {
    return this.actor.stream(to, { ...o, threadId: this.threadId });
  }
  messages(o: PageOptions = {}): Promise<Page<Envelope>> {
    return this.actor.getThreadMessages(this.threadId, o);
  }
  status(): Promise<GetThreadStatusResponse> {
    return this.actor.threadStatus(this.threadId);
  }
}
