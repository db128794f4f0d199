import {
  type Attributes,
  type Link,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { parseTraceParent } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type Sampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
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
  private readonly provider: TracerProvider | undefined;
  private readonly tracer: Tracer | undefined;

  constructor(config: TracingConfig | undefined, resource: { gatewayId: string; version: string }) {
    if (!config?.endpoint) return;
    const exporter = new OTLPTraceExporter({ url: config.endpoint, headers: config.headers });
    this.provider = new TracerProvider({
      resource: resourceFromAttributes({
        [ATTR_SERVICE_NAME]: config.serviceName,
        [ATTR_SERVICE_VERSION]: resource.version,
        "service.instance.id": resource.gatewayId,
      }),
      sampler: sampler(config),
      spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: config.scheduleDelayMs })],
    });
    this.tracer = this.provider.getTracer("agentnet", resource.version);
  }

  /** A gateway that exports nothing (spans are not made; `traceparent`s still pass through). */
  static readonly off = new Tracing(undefined, { gatewayId: "", version: "" });

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
  async shutdown(): Promise<void> {
    await this.provider?.shutdown();
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

/** The span context of a W3C `traceparent`, or undefined when it is not a valid one. */
export function spanContextOf(traceparent: string): SpanContext | undefined {
  const ctx = parseTraceParent(traceparent);
  return ctx && trace.isSpanContextValid(ctx) ? { ...ctx, isRemote: true } : undefined;
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

function sampler(config: TracingConfig): Sampler {
  const ratio = new TraceIdRatioBasedSampler(config.samplerRatio);
  switch (config.sampler) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return ratio;
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: ratio });
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}
