// OpenTelemetry for agents: a handler runs in a span that continues the trace its message came in (the envelope's
// `traceparent`, the gateway's delivery span), and every call the SDK makes carries the active trace context as
// `traceparent` metadata, so one request across agents and gateways is one trace. The SDK depends only on
// @opentelemetry/api: without an OpenTelemetry SDK registered by the application its spans record nothing, but
// the context still travels (a handler's Ack and Reply continue the delivery's span).
import {
  type Context,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  context,
  trace,
} from "@opentelemetry/api";

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The span context of a W3C `traceparent`; undefined when it is empty or not valid. */
export function parseTraceparent(value: string): SpanContext | undefined {
  const m = TRACEPARENT.exec(value.trim());
  if (!m) return undefined;
  const ctx: SpanContext = { traceId: m[1]!, spanId: m[2]!, traceFlags: Number.parseInt(m[3]!, 16) & TraceFlags.SAMPLED, isRemote: true };
  return trace.isSpanContextValid(ctx) ? ctx : undefined;
}

export function formatTraceparent(ctx: SpanContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${(ctx.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
}

/** The `traceparent` of the active OpenTelemetry context (the application's current span), if any. */
export function activeTraceparent(): string | undefined {
  const ctx = trace.getSpanContext(context.active());
  return ctx && trace.isSpanContextValid(ctx) ? formatTraceparent(ctx) : undefined;
}

/** Call options with the trace context: `explicit` (a handler's), else the active one; unchanged when none. */
export function withTraceparent<T extends object>(options: T, explicit?: string): T & { headers?: Record<string, string> } {
  const tp = explicit || activeTraceparent();
  return tp ? { ...options, headers: { traceparent: tp } } : options;
}

/** A message's handling: its span, and that span's context for the handler's calls. */
export interface HandlingSpan {
  /** The context the handler runs in (the span active in it). */
  readonly context: Context;
  /** What the handler's Ack and Reply send: this span's `traceparent` (the delivery's when nothing records). */
  readonly traceparent: string;
  end(error?: string): void;
}

/**
 * Starts the CONSUMER span of handling a message, as a child of the envelope's `traceparent` (or in a new trace
 * when it has none).
 */
export function startHandling(envelope: {
  traceparent: string;
  messageId: string;
  threadId: string;
  traceId: string;
  kind: string;
}): HandlingSpan {
  const parent = parseTraceparent(envelope.traceparent);
  const parentContext = parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
  const span: Span = trace.getTracer("@agentnet/client").startSpan(
    `process ${envelope.kind || "message"}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        "messaging.system": "agentnet",
        "messaging.operation.type": "process",
        "messaging.message.id": envelope.messageId,
        "messaging.message.conversation_id": envelope.threadId,
        "agentnet.trace_id": envelope.traceId,
      },
    },
    parentContext,
  );
  const own = span.spanContext();
  // Nothing records (no SDK registered): the no-op span has no context of its own, so pass the delivery's on.
  const traceparent = trace.isSpanContextValid(own) ? formatTraceparent(own) : envelope.traceparent;
  return {
    context: trace.setSpan(parentContext, span),
    traceparent,
    end(error) {
      if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
      span.end();
    },
  };
}
