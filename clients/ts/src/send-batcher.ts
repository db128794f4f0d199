// Sends that answer once stored, coalesced into SendBatch calls (issue #14): one round trip and one database commit
// for many messages. A send waits at most until the end of the current turn of the event loop; sends issued while
// a batch is on its way wait for it and then go out together (at most one call in flight per client, up to 1,000
// messages each). Each caller still gets what a Send of its own would have given: the same SendResponse, or the
// same typed error (code, message, ErrorInfo reason and field, RetryInfo), with the same retries of transient
// failures under the same client-chosen message id. A lone send goes out as a plain Send. A gateway without
// SendBatch (UNIMPLEMENTED) turns coalescing off for the client.
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type CallOptions, type Client } from "@connectrpc/connect";
import {
  type MessagingService,
  type SendBatchResult,
  type SendError,
  type SendRequest,
  SendRequestSchema,
  type SendResponse,
} from "@agentnet/gen/agentnet/v1/messaging_pb.js";
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from "@agentnet/gen/google/rpc/error_details_pb.js";
import { Backoff, sleep } from "./backoff.js";
import { type AgentnetError, isTransient, toAgentnetError } from "./errors.js";
import { DEFAULT_RETRIES, type RetryOptions, retrying } from "./retrying.js";

/** The most messages one SendBatch call may carry (the server's limit). */
export const MAX_BATCH_MESSAGES = 1000;

/** The ErrorInfo domain of agentnet's reasons, as the server sends it. */
const ERROR_DOMAIN = "agentnet.dev";

type SendInit = MessageInitShape<typeof SendRequestSchema>;

/**
 * Refusals whose Send error carries ErrorInfo metadata beyond `field` (blob_id; size_bytes and limit_bytes). A
 * gateway older than SendError's `metadata` cannot say it: such an item is then asked again by Send, which stores
 * nothing and answers exactly that error.
 */
const REASONS_WITH_METADATA: ReadonlySet<string> = new Set(["blob_not_found", "payload_too_large"]);

function saysAll(e: SendError): boolean {
  return !REASONS_WITH_METADATA.has(e.reason) || Object.keys(e.metadata).some((k) => k !== "field");
}

interface Flight {
  /** Aborts the call once every item in it has given up (its signal or deadline). */
  readonly controller: AbortController;
  open: number;
}

interface Item {
  readonly req: SendRequest;
  /** Rough size on the wire, to keep a call well under the transport's message limit. */
  readonly bytes: number;
  readonly retries: number;
  readonly signal: AbortSignal | undefined;
  readonly timeoutMs: number | undefined;
  readonly resolve: (res: SendResponse) => void;
  readonly reject: (err: unknown) => void;
  /** Attempts made so far beyond the first. */
  attempt: number;
  settled: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
  onAbort: (() => void) | undefined;
  flight: Flight | undefined;
  backoff: Backoff | undefined;
}

// The end of this turn of the event loop: in Node after the I/O callbacks of this turn (so sends issued in
// reaction to one read of the socket share a call), adding no delay of its own; in browsers a zero timeout.
const setImmediateOf = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;
const nextTurn: (f: () => void) => void =
  typeof setImmediateOf === "function" ? (f) => void setImmediateOf(f) : (f) => void setTimeout(f, 0);

export class SendBatcher {
  private queue: Item[] = [];
  private inFlight = false;
  private scheduled = false;
  /** The gateway answered UNIMPLEMENTED for SendBatch: every send is a Send from now on. */
  private unsupported = false;
  private readonly maxBatchBytes: number;

  constructor(
    private readonly messaging: Client<typeof MessagingService>,
    private readonly waitReady: (timeoutMs?: number) => Promise<void>,
    /** The transport's largest message; a call stays at an eighth of it by a JSON estimate (protobuf's Struct is larger). */
    maxMessageBytes: number,
  ) {
    this.maxBatchBytes = Math.max(64 * 1024, Math.floor(maxMessageBytes / 8));
  }

  /** True once the gateway said it has no SendBatch. */
  get fallenBack(): boolean {
    return this.unsupported;
  }

  /** Sends one message (wait_for unset or ACCEPTED), coalesced with others; answers as Send would. */
  send(init: SendInit, o: RetryOptions): Promise<SendResponse> {
    if (this.unsupported || o.signal?.aborted) return this.unary(init, o);
    let req: SendRequest;
    let bytes: number;
    try {
      req = create(SendRequestSchema, init);
      bytes = 256 + JSON.stringify(init.payload ?? {}).length;
    } catch {
      // Not encodable: a Send of its own fails exactly as it did before, without taking a batch down with it.
      return this.unary(init, o);
    }
    return new Promise<SendResponse>((resolve, reject) => {
      const item: Item = {
        req,
        bytes,
        retries: o.retries ?? DEFAULT_RETRIES,
        signal: o.signal,
        timeoutMs: o.timeoutMs,
        resolve,
        reject,
        attempt: 0,
        settled: false,
        timer: undefined,
        onAbort: undefined,
        flight: undefined,
        backoff: undefined,
      };
      if (o.signal) {
        const signal = o.signal;
        item.onAbort = () => this.fail(item, canceled(signal));
        signal.addEventListener("abort", item.onAbort, { once: true });
      }
      this.arm(item);
      this.enqueue(item);
    });
  }

  private enqueue(item: Item): void {
    this.queue.push(item);
    if (this.inFlight || this.scheduled) return;
    this.scheduled = true;
    nextTurn(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** Sends what is queued, unless a call is still on its way (then its end sends the rest). */
  private pump(): void {
    if (this.inFlight) return;
    if (this.unsupported) {
      for (const item of this.queue.splice(0)) if (!item.settled) void this.handOver(item);
      return;
    }
    const batch: Item[] = [];
    let bytes = 0;
    let taken = 0;
    for (; taken < this.queue.length && batch.length < MAX_BATCH_MESSAGES; taken++) {
      const item = this.queue[taken] as Item;
      if (item.settled) continue;
      if (batch.length > 0 && bytes + item.bytes > this.maxBatchBytes) break;
      batch.push(item);
      bytes += item.bytes;
    }
    this.queue.splice(0, taken);
    if (batch.length === 0) return;
    this.inFlight = true;
    const done = batch.length === 1 ? this.handOver(batch[0] as Item) : this.sendBatch(batch);
    void done.finally(() => {
      this.inFlight = false;
      this.pump();
    });
  }

  /** One call for the lot, retried as a whole after a transient failure of the call (items keep their ids). */
  private async sendBatch(items: Item[]): Promise<void> {
    const backoff = new Backoff({ initialMs: 100, maxMs: 2_000 });
    for (let attempt = 0; ; attempt++) {
      let live = items.filter((i) => !i.settled);
      if (attempt > 0 && live.length > 0) {
        try {
          await this.waitReady();
        } catch (err) {
          for (const item of live) this.fail(item, toAgentnetError(err));
          return;
        }
        live = live.filter((i) => !i.settled);
        for (const item of live) this.arm(item);
      }
      if (live.length === 0) return;
      const flight: Flight = { controller: new AbortController(), open: live.length };
      for (const item of live) item.flight = flight;
      let results: SendBatchResult[];
      try {
        results = (await this.messaging.sendBatch({ messages: live.map((i) => i.req) }, { signal: flight.controller.signal })).results;
      } catch (err) {
        for (const item of live) item.flight = undefined;
        if (flight.controller.signal.aborted) return; // every item already gave up
        const e = toAgentnetError(err);
        if (e.code === Code.Unimplemented) {
          // An older gateway: Send from now on, for these and every later message.
          this.unsupported = true;
          for (const item of live) void this.handOver(item);
          return;
        }
        if (e.code === Code.InvalidArgument) {
          // The rules every request obeys refused the call for one item (naming it `messages[i]…`): each Send of
          // its own gets exactly its own answer, the faulty one its error with its own field.
          await Promise.all(live.map((item) => this.handOver(item)));
          return;
        }
        if (!isTransient(e, flight.controller.signal) || e.reason === "connect_timeout") {
          for (const item of live) this.fail(item, e);
          return;
        }
        for (const item of live) {
          if (item.settled) continue;
          if (item.attempt >= item.retries) this.fail(item, e);
          else {
            item.attempt += 1;
            this.disarm(item);
          }
        }
        await sleep(backoff.next());
        continue;
      }
      for (let k = 0; k < live.length; k++) {
        const item = live[k] as Item;
        item.flight = undefined;
        if (item.settled) continue;
        const result = results[k]?.result;
        if (result?.case === "sent") this.succeed(item, result.value);
        else if (result?.case === "error" && saysAll(result.value)) {
          this.refused(item, toAgentnetError(sendErrorToConnectError(result.value)));
        } else void this.handOver(item); // no answer for it, or one SendError cannot fully say: ask by itself
      }
      return;
    }
  }

  /** A refused item: a transient refusal is sent again (same id) after its own backoff, any other is its error. */
  private refused(item: Item, e: AgentnetError): void {
    if (item.attempt >= item.retries || item.signal?.aborted || !isTransient(e, item.signal)) return this.fail(item, e);
    item.attempt += 1;
    this.disarm(item);
    item.backoff ??= new Backoff({ initialMs: 100, maxMs: 2_000 });
    sleep(item.backoff.next(), item.signal)
      .then(() => this.waitReady())
      .then(
        () => {
          if (item.settled) return;
          this.arm(item);
          this.enqueue(item);
        },
        (err: unknown) => this.fail(item, toAgentnetError(err)),
      );
  }

  /** Sends one item with Send and the SDK's retry loop (its attempts so far counted). */
  private handOver(item: Item): Promise<void> {
    this.release(item);
    item.settled = true;
    return this.unary(item.req, { retries: item.retries - item.attempt, signal: item.signal, timeoutMs: item.timeoutMs }).then(
      item.resolve,
      item.reject,
    );
  }

  private unary(req: SendInit, o: RetryOptions): Promise<SendResponse> {
    return retrying(this.waitReady, o, (call: CallOptions) => this.messaging.send(req, call));
  }

  /** Starts the item's deadline for this attempt, as a Send's `timeoutMs` would. */
  private arm(item: Item): void {
    if (item.timeoutMs === undefined) return;
    item.timer = setTimeout(
      () => this.fail(item, toAgentnetError(new ConnectError("the operation timed out", Code.DeadlineExceeded))),
      Math.max(0, item.timeoutMs),
    );
  }

  private disarm(item: Item): void {
    clearTimeout(item.timer);
    item.timer = undefined;
  }

  private release(item: Item): void {
    this.disarm(item);
    if (item.onAbort) item.signal?.removeEventListener("abort", item.onAbort);
    item.onAbort = undefined;
    const flight = item.flight;
    item.flight = undefined;
    if (flight && --flight.open === 0) flight.controller.abort();
  }

  private succeed(item: Item, res: SendResponse): void {
    if (item.settled) return;
    item.settled = true;
    this.release(item);
    item.resolve(res);
  }

  private fail(item: Item, err: AgentnetError): void {
    if (item.settled) return;
    item.settled = true;
    this.release(item);
    item.reject(err);
  }
}

/** What connect raises for a call whose signal aborted. */
function canceled(signal: AbortSignal): AgentnetError {
  let reason: unknown = signal.reason;
  if (reason === undefined) {
    const e = new Error("This operation was aborted");
    e.name = "AbortError";
    reason = e;
  }
  return toAgentnetError(ConnectError.from(reason, Code.Canceled));
}

const CODE_BY_NAME: ReadonlyMap<string, Code> = new Map(
  Object.values(Code)
    .filter((v): v is Code => typeof v === "number")
    .map((code) => [Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase(), code]),
);

/**
 * The error a Send would have raised, rebuilt from a refused item of SendBatch as the server builds it: the code and
 * message, an ErrorInfo with the reason and its metadata (`field` included), a BadRequest naming the field, a RetryInfo
 * with the delay — as details in the form they arrive over the wire.
 */
export function sendErrorToConnectError(e: SendError): ConnectError {
  const code = CODE_BY_NAME.get(e.code) ?? (e.code === "CANCELLED" ? Code.Canceled : Code.Unknown);
  const details: { type: string; value: Uint8Array }[] = [];
  if (e.reason !== "") {
    const metadata = { ...e.metadata, ...(e.field !== "" && { field: e.field }) };
    const info = create(ErrorInfoSchema, { reason: e.reason, domain: ERROR_DOMAIN, metadata });
    details.push({ type: ErrorInfoSchema.typeName, value: toBinary(ErrorInfoSchema, info) });
  }
  if (e.field !== "") {
    const badRequest = create(BadRequestSchema, { fieldViolations: [{ field: e.field, description: e.message }] });
    details.push({ type: BadRequestSchema.typeName, value: toBinary(BadRequestSchema, badRequest) });
  }
  if (e.retryAfterMs > 0n) {
    const ms = e.retryAfterMs;
    const retry = create(RetryInfoSchema, { retryDelay: { seconds: ms / 1000n, nanos: Number(ms % 1000n) * 1_000_000 } });
    details.push({ type: RetryInfoSchema.typeName, value: toBinary(RetryInfoSchema, retry) });
  }
  const error = new ConnectError(e.message, code);
  error.details = details;
  return error;
}
