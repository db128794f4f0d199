// What tracing is configured with, apart from the SDK (config.ts reads it; loading it must not load OpenTelemetry).

export const TRACES_SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;
export type TracesSampler = (typeof TRACES_SAMPLERS)[number];

export interface TracingConfig {
  /** OTLP/HTTP traces URL (…/v1/traces); undefined: tracing off. */
  endpoint: string | undefined;
  /** Extra headers of export requests (OTEL_EXPORTER_OTLP_HEADERS). */
  headers: Record<string, string>;
  serviceName: string;
  sampler: TracesSampler;
  /** The ratio of the traceidratio samplers, 0..1. */
  samplerRatio: number;
  /** How long spans wait to be exported together, in milliseconds (OTEL_BSP_SCHEDULE_DELAY). */
  scheduleDelayMs: number;
  /** Spans kept waiting for export at most; more are dropped (OTEL_BSP_MAX_QUEUE_SIZE). */
  maxQueueSize: number;
  /** Spans per export request at most (OTEL_BSP_MAX_EXPORT_BATCH_SIZE). */
  maxExportBatchSize: number;
  /** How long one export may take, in milliseconds (OTEL_BSP_EXPORT_TIMEOUT). */
  exportTimeoutMs: number;
}
