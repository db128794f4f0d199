import type { Tracer } from "@opentelemetry/api";
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
import type { TracingConfig } from "./config.js";

// The OpenTelemetry SDK and its OTLP/HTTP exporter, loaded only by a gateway that exports spans: their modules
// weigh several MiB of heap, which a gateway with tracing off should not carry.

/** A tracer whose spans are batched and exported to `config.endpoint`, and how to flush and stop it. */
export function otlpTracer(
  config: TracingConfig & { endpoint: string },
  resource: { gatewayId: string; version: string },
): { tracer: Tracer; shutdown(): Promise<void> } {
  const exporter = new OTLPTraceExporter({ url: config.endpoint, headers: config.headers });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      "service.name": config.serviceName,
      "service.version": resource.version,
      "service.instance.id": resource.gatewayId,
    }),
    sampler: sampler(config),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter,
        scheduledDelayMillis: config.scheduleDelayMs,
        maxQueueSize: config.maxQueueSize,
        maxExportBatchSize: config.maxExportBatchSize,
        exportTimeoutMillis: config.exportTimeoutMs,
      }),
    ],
  });
  return { tracer: provider.getTracer("agentnet", resource.version), shutdown: () => provider.shutdown() };
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
