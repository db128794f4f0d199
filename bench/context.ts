import type { Profile } from "./profile.js";
import type { Infra } from "./infra.js";
import type { Setups } from "./setups.js";

/** What every section gets from the run. */
export interface RunContext {
  profile: Profile;
  infra: Infra;
  setups: Setups;
  /** Forked load processes for the messaging sweeps. */
  loadWorkers: number;
  /** Whether --setup lets sections run on this setup. */
  runsOn(setup: "embedded" | "postgres+nats" | "two-gateways"): boolean;
  /** The setups a section runs on: those named by --setup (when given) among `possible`, else `defaults`. */
  setupsFor<T extends "embedded" | "postgres+nats">(defaults: T[], possible: T[]): T[];
  /** Progress lines (stderr, so stdout keeps only the tables). */
  progress(line: string): void;
  /** Notes the error-level lines gateways logged (INTERNAL failures and the like), if any. */
  noteGatewayErrors(where: string, gateways: Array<{ name: string; errors(): Record<string, number> }>): void;
  /** Remarks that belong in the report (skips, scaled parameters, …). */
  note(line: string): void;
}
