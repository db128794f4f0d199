import type { Metrics } from "../metrics/index.js";
import type { FlushHooks } from "../store/group-commit.js";
import { SpanKind, type Tracing } from "../tracing/index.js";

/**
 * What a writer of the message path reports of each flush: its size and duration to the metrics, and a span in the
 * trace of its first traced item (linked to the others'), so a trace shows the statement its message waited for.
 * Flushes of untraced items make no span.
 */
export function flushHooks<T>(
  metrics: Metrics,
  tracing: Tracing,
  writer: string,
  traceparentOf: (item: T) => string | undefined,
): FlushHooks<T> {
  return {
    observe: metrics.flushObserver(writer),
    span: tracing.enabled
      ? (items) => {
          const traced: string[] = [];
          for (const item of items) {
            const tp = traceparentOf(item);
            if (tp) traced.push(tp);
          }
          if (traced.length === 0) return undefined;
          return tracing.start(`agentnet.store.${writer}`, {
            kind: SpanKind.CLIENT,
            parent: traced[0],
            links: traced.slice(1),
            attributes: { "db.system.name": "postgresql", "db.operation.batch.size": items.length, "agentnet.writer": writer },
          });
        }
      : undefined,
  };
}
