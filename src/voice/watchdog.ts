import type { Logger } from "pino";
import { FailureLog } from "../store/errors.js";
import type { VoiceAgents } from "./voice-agents.js";

// The maximum-duration watchdog: every gateway runs it; claims are SKIP LOCKED (see claimOverdueAgents), so
// gateways share the work. It stops for good when the gateway's shutdown signal fires.

export interface VoiceWatchdog {
  /** Stops scheduling and waits for a pass in progress. Idempotent. */
  stop(): Promise<void>;
  /** Passes finished so far (tests wait on it). */
  readonly passes: number;
}

export function startVoiceWatchdog(options: {
  agents: VoiceAgents;
  intervalMs: number;
  logger: Logger;
  signal: AbortSignal;
}): VoiceWatchdog {
  const { agents, intervalMs, signal } = options;
  const log = options.logger.child({ job: "voice-watchdog" });
  const failures = new FailureLog(log, "voice watchdog pass");
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  let passes = 0;

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = pass().finally(() => {
        running = undefined;
        schedule();
      });
    }, intervalMs);
    // Never keep a process alive just to watch agents.
    timer.unref();
  };

  const pass = async () => {
    try {
      const stopped = await agents.stopOverdue();
      if (stopped > 0) log.info({ stopped }, `voice watchdog stopped ${stopped} agents past their maximum duration`);
      failures.succeeded();
    } catch (err) {
      // The database restarting costs a pass; logged once per outage.
      if (!signal.aborted) failures.failed(err);
    } finally {
      passes += 1;
    }
  };

  const stop = async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };

  if (signal.aborted) stopped = true;
  else {
    signal.addEventListener("abort", () => void stop(), { once: true });
    schedule();
  }
  return {
    stop,
    get passes() {
      return passes;
    },
  };
}
