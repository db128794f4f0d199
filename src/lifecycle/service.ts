/**
 * The one shape of every background part of a gateway (sweeps, watchdogs, bus listeners): `run` starts the work
 * and resolves once `signal` has aborted and the work in progress has finished. It rejects only on a bug; the
 * supervisor then ends the gateway rather than let it run with a part missing.
 */
export interface Service {
  run(signal: AbortSignal): Promise<void>;
}
