export {
  type SpanOptions,
  SpanKind,
  type TraceSpan,
  Tracing,
  traceIdOf,
  validTraceparent,
} from "./tracing.js";
export { TRACES_SAMPLERS, type TracesSampler, type TracingConfig } from "./config.js";
