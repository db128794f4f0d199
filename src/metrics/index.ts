export { type FlushObserver, type GaugeReader, Metrics, type MetricsOptions } from "./metrics.js";
export { RpcMetrics, codeName } from "./rpc-metrics.js";
export { CachedFigures } from "./cached-figures.js";
