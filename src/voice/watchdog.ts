import type { Logger } from "pino";
import { type Service, runPeriodically } from "../lifecycle/index.js";
import { FailureLog } from "../store/errors.js";
import type { VoiceAgents } from "./voice-agents.js";

// The maximum-duration watchdog: every gateway runs it; claims are SKIP LOCKED (see claimOverdueAgents), so
// gateways share the work.
export class VoiceWatchdog implements Service {
  /** Passes finished so far (tests wait on it). */
  passes = 0;
  private readonly log: Logger;
  private readonly failures: FailureLog;

  constructor(private readonly options: { agents: VoiceAgents; intervalMs: number; logger: Logger }) {
    this.log = options.logger.child({ job: "voice-watchdog" });
    this.failures = new FailureLog(this.log, "voice watchdog pass");
  }

  /** Runs a pass every interval until `signal` aborts; resolves after a pass in progress has finished. */
  run(signal: AbortSignal): Promise<void> {
    return runPeriodically(signal, { intervalMs: this.options.intervalMs, pass: () => this.pass(signal) });
  }

  private async pass(signal: AbortSignal): Promise<void> {
    try {
      const stopped = await this.options.agents.stopOverdue();
      if (stopped > 0) this.log.info({ stopped }, `voice watchdog stopped ${stopped} agents past their maximum duration`);
      this.failures.succeeded();
    } catch (err) {
      // The database restarting costs a pass; logged once per outage.
      if (!signal.aborted) this.failures.failed(err);
    } finally {
      this.passes += 1;
    }
  }
}
