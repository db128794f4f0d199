import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import { type PrunedThreads, pruneStaleThreads } from "../messaging/index.js";
import { type Service, runPeriodically } from "../lifecycle/index.js";
import { FailureLog, isUnavailable } from "../store/errors.js";
import type { Database } from "../store/schema.js";

// The retention job: every gateway runs it; batches claim their threads with SKIP LOCKED, so running it on
// several gateways at once splits the work instead of duplicating it. Each run is bounded (batch size × batch
// count) so a large backlog is worked off over several runs instead of in one long stretch of deletes.

export const DEFAULT_BATCH_SIZE = 500;
export const DEFAULT_MAX_BATCHES = 20;
const DAY_MS = 86_400_000;

export interface RetentionLimits {
  /** Threads with no message for this many days are pruned. */
  threadRetentionDays: number;
  /** Threads per transaction. Default 500. */
  batchSize?: number;
  /** Batches per run. Default 20. */
  maxBatches?: number;
}

export interface RetentionReport extends PrunedThreads {
  batches: number;
  /** Threads whose last message is older than this were eligible. */
  cutoff: Date;
  /** True when the run stopped at `maxBatches` with stale threads possibly left. */
  more: boolean;
}

/** One retention run: prunes stale threads in bounded batches and reports the counts. */
export async function pruneOnce(db: Kysely<Database>, now: Date, limits: RetentionLimits): Promise<RetentionReport> {
  const batchSize = limits.batchSize ?? DEFAULT_BATCH_SIZE;
  const maxBatches = limits.maxBatches ?? DEFAULT_MAX_BATCHES;
  const cutoff = new Date(now.getTime() - limits.threadRetentionDays * DAY_MS);
  const report: RetentionReport = { threads: 0, messages: 0, receipts: 0, participants: 0, batches: 0, cutoff, more: false };
  while (report.batches < maxBatches) {
    const batch = await pruneStaleThreads(db, cutoff, batchSize, now);
    report.batches += 1;
    report.threads += batch.threads;
    report.messages += batch.messages;
    report.receipts += batch.receipts;
    report.participants += batch.participants;
    if (batch.threads < batchSize) return report;
  }
  report.more = true;
  return report;
}

export interface RetentionOptions {
  db: Kysely<Database>;
  logger: Logger;
  config: Pick<Config, "threadRetentionDays" | "retentionIntervalSeconds">;
  /** Overrides config.retentionIntervalSeconds, e.g. for tests. */
  intervalMs?: number;
  batchSize?: number;
  maxBatches?: number;
  /** The clock; tests move it forward instead of waiting days. */
  now?: () => Date;
}

/**
 * The retention job of one gateway (every gateway may run it; batches do not overlap). The first run comes after
 * a random delay (at most one interval, capped at a minute) so gateways started together do not all prune at the
 * same moment; after that, one run per interval, or again shortly when a run left work behind.
 */
export class Retention implements Service {
  /** Runs that finished (successfully or not), for tests that wait for the job. */
  runs = 0;
  private readonly intervalMs: number;
  private readonly log: Logger;
  private readonly failures: FailureLog;

  constructor(private readonly options: RetentionOptions) {
    this.intervalMs = options.intervalMs ?? options.config.retentionIntervalSeconds * 1000;
    this.log = options.logger.child({ job: "retention" });
    this.failures = new FailureLog(this.log, "retention run");
  }

  /** Runs until `signal` aborts; resolves after a run in progress has finished. */
  run(signal: AbortSignal): Promise<void> {
    return runPeriodically(signal, {
      intervalMs: this.intervalMs,
      firstDelayMs: Math.floor(Math.random() * Math.min(this.intervalMs, 60_000)),
      pass: () => this.runOnce(signal),
    });
  }

  /** One run; answers the pause before the next. */
  private async runOnce(signal: AbortSignal): Promise<number> {
    const { options, intervalMs } = this;
    const started = performance.now();
    let next = intervalMs;
    try {
      const report = await pruneOnce(options.db, (options.now ?? (() => new Date()))(), {
        threadRetentionDays: options.config.threadRetentionDays,
        batchSize: options.batchSize,
        maxBatches: options.maxBatches,
      });
      this.log.info(
        {
          threads: report.threads,
          messages: report.messages,
          receipts: report.receipts,
          participants: report.participants,
          batches: report.batches,
          cutoff: report.cutoff.toISOString(),
          more: report.more,
          ms: Math.round(performance.now() - started),
        },
        `retention: pruned ${report.threads} threads inactive for ${options.config.threadRetentionDays} days`,
      );
      if (report.more) next = Math.min(intervalMs, 1000);
      this.failures.succeeded();
    } catch (err) {
      // The database restarting (or any other failure) costs one run: the next interval tries again.
      if (!signal.aborted) this.failures.failed(err);
      // An outage usually ends within seconds: do not leave the work for a whole interval.
      if (isUnavailable(err)) next = Math.min(intervalMs, 30_000);
    } finally {
      this.runs += 1;
    }
    return next;
  }
}
