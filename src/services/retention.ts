import { startRetention } from "../retention/retention.js";
import type { ServiceDeps } from "./index.js";

/** Runs the retention job on this gateway until it shuts down (every gateway may; batches do not overlap). */
export function registerRetention(deps: ServiceDeps): void {
  const job = startRetention({ db: deps.store.db, logger: deps.logger, config: deps.config, signal: deps.shutdownSignal });
  // Shutdown aborts the signal first; waiting here keeps the store open until a run in progress has finished.
  deps.onClose(() => job.stop());
}
