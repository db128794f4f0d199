export { DEFAULT_BATCH_SIZE, DEFAULT_MAX_BATCHES, Retention, type RetentionOptions, type RetentionReport, pruneOnce } from "./retention.js";
