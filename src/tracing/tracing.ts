import {
  type Attributes,
  type Link,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import type { TracingConfig } from "./config.js";

// Spans of one gateway, exported over OTLP/HTTP when an endpoint is configured, none otherwise. One provider per
// gateway rather than OpenTelemetry's global one (tests run several gateways in a process, and a library must not
// take over its host's global). Context travels explicitly, as W3C `traceparent` strings: in call metadata, in
// stored messages and on the bus. There is no context manager (AsyncLocalStorage) to carry it implicitly: the
// few places that start spans are given their parent, and a gateway with tracing off pays nothing but passing a
// string along.

export { SpanKind };

/** A span in progress: its context as a `traceparent` to hand on, and how it ends. */
export interface TraceSpan {
  readonly traceparent: string;
  /** The W3C trace id (32 hex), for log lines. */
  readonly traceId: string;
  setAttributes(attributes: Attributes): void;
  /** Ends the span; `error` marks it failed with that description. */
  end(error?: string): void;
}

export interface SpanOptions {
  kind?: SpanKind;
  /** The parent's `traceparent`; none or an invalid one starts a new trace. */
  parent?: string | undefined;
  attributes?: Attributes;
  /** Other spans this one is about (a batch's other items), as `traceparent`s. */
  links?: readonly string[];
  startTime?: Date;
}

export class Tracing {
  private constructor(
    private readonly tracer: Tracer | undefined,
    private readonly stop: () => Promise<void> = async () => undefined,
  ) {}

  /** The tracing of a gateway: exporting over OTLP/HTTP when `config` has an endpoint (the SDK is loaded then). */
  static async create(config: TracingConfig | undefined, resource: { gatewayId: string; version: string }): Promise<Tracing> {
    const endpoint = config?.endpoint;
    if (!config || endpoint === undefined) return Tracing.off;
    const { otlpTracer } = await import("./otlp-provider.js");
    const { tracer, shutdown } = otlpTracer({ ...config, endpoint }, resource);
    return new Tracing(tracer, shutdown);
  }

  /** A gateway that exports nothing (spans are not made; `traceparent`s still pass through). */
  static readonly off = new Tracing(undefined);

  get enabled(): boolean {
    return this.tracer !== undefined;
  }

  /**
   * Starts a span, or returns undefined when tracing is off. A span the sampler drops is still returned (it records
   * nothing): its `traceparent` carries "not sampled" to the spans that continue it, wherever they are.
   */
  start(name: string, options: SpanOptions = {}): TraceSpan | undefined {
    if (!this.tracer) return undefined;
    const parent = options.parent ? spanContextOf(options.parent) : undefined;
    const context = parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
    const links: Link[] = [];
    for (const tp of options.links ?? []) {
      const linked = spanContextOf(tp);
      if (linked) links.push({ context: linked });
    }
    const span = this.tracer.startSpan(
      name,
      { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes, links, startTime: options.startTime },
      context,
    );
    return new StartedSpan(span);
  }

  /** Exports what is still buffered and stops. */
  shutdown(): Promise<void> {
    return this.stop();
  }
}

class StartedSpan implements TraceSpan {
  readonly traceparent: string;
  readonly traceId: string;

  constructor(private readonly span: Span) {
    const ctx = span.spanContext();
    this.traceId = ctx.traceId;
    this.traceparent = formatTraceparent(ctx);
  }

  setAttributes(attributes: Attributes): void {
    this.span.setAttributes(attributes);
  }

  end(error?: string): void {
    if (error !== undefined) this.span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    this.span.end();
  }
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The span context of a W3C `traceparent` (version 00), or undefined when it is not a valid one. */
export function spanContextOf(traceparent: string): SpanContext | undefined {
  const m = TRACEPARENT.exec(traceparent);
  if (!m) return undefined;
  const ctx: SpanContext = { traceId: m[1]!, spanId: m[2]!, traceFlags: Number.parseInt(m[3]!, 16) & TraceFlags.SAMPLED, isRemote: true };
  return trace.isSpanContextValid(ctx) ? ctx : undefined;
}

/** A `traceparent` as given by a caller, if valid (version 00 form); anything else is dropped, not refused. */
export function validTraceparent(value: string | null | undefined): string | undefined {
  if (!value || value.length > 128) return undefined;
  const ctx = spanContextOf(value.trim());
  return ctx ? formatTraceparent(ctx) : undefined;
}

/** The W3C trace id in a `traceparent` ("" for none). */
export function traceIdOf(traceparent: string): string {
  return spanContextOf(traceparent)?.traceId ?? "";
}

function formatTraceparent(ctx: SpanContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${(ctx.traceFlags & 0xff).toString(16).padStart(2, "0")}`;
}
