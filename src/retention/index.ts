export { Retention, type RetentionOptions, type RetentionReport, pruneOnce } from "./retention.js";
