import type { Logger } from "pino";
import { A2a } from "../a2a/index.js";
import { AgentStatus } from "../agent-status/index.js";
import type { Auth } from "../auth/index.js";
import { Blobs } from "../blobs/index.js";
import type { Bus } from "../bus/index.js";
import type { Config } from "../config.js";
import type { Service } from "../lifecycle/index.js";
import type { Metrics } from "../metrics/index.js";
import type { Tracing } from "../tracing/index.js";
import { History, Messaging } from "../messaging/index.js";
import { Presence, Registry } from "../registry/index.js";
import { Retention } from "../retention/index.js";
import { type Domains, rateLimits } from "../services/index.js";
import { Sessions } from "../sessions/index.js";
import { NetworkStats } from "../stats/index.js";
import type { Store } from "../store/database.js";
import { createVoice } from "../voice/index.js";

export interface DomainDeps {
  config: Config;
  logger: Logger;
  store: Store;
  bus: Bus;
  auth: Auth;
  /** Identifies this gateway process (presence records it; logs show it). */
  gatewayId: string;
  /** Aborted when the gateway starts draining, before its services stop. */
  draining: AbortSignal;
  metrics: Metrics;
  tracing: Tracing;
}

/** The domains of one gateway, and their background services in the order they start (they stop in reverse). */
export interface BuiltDomains {
  domains: Domains;
  services: Array<[name: string, service: Service]>;
}

/** Builds every domain of a gateway over its store and bus. Nothing runs until the services are started. */
export function buildDomains(deps: DomainDeps): BuiltDomains {
  const { config, logger, store, bus, auth, gatewayId, metrics, tracing } = deps;
  const db = store.db;
  // Presence is shared: the registry reads and announces it, CONSUME streams hold sessions with it, hosted agents
  // of chat sessions are announced through it.
  const presence = new Presence({ db, bus, logger, config, gatewayId, evictions: metrics.evictions });
  const registry = new Registry({ db, presence, config, gatewayId, metrics });
  const messaging = new Messaging({ db, bus, logger, config, metrics, tracing, sessions: presence });
  const sessions = new Sessions({
    db,
    bus,
    logger,
    config: config.sessions,
    gatewayId,
    metrics,
    sweepIntervalMs: config.sweepIntervalMs,
    announce: (event) => presence.publish(event),
    draining: deps.draining,
  });
  const voice = createVoice({ db, config: config.voice, logger });
  const retention = new Retention({ db, logger, config });

  const services: BuiltDomains["services"] = [
    ["credential invalidations", auth],
    ["presence", presence],
    ["messaging sweeps", messaging],
    ["retention", retention],
    ["sessions", sessions],
  ];
  if (voice) services.push(["voice watchdog", voice.watchdog]);
  return {
    domains: {
      auth,
      presence,
      registry,
      agentStatus: new AgentStatus(db),
      messaging,
      history: new History(db),
      blobs: new Blobs(db, { maxBlobBytes: config.maxBlobBytes, uploadsPerMinute: config.blobRatePerMinute }),
      sessions,
      stats: new NetworkStats(db),
      voice,
      limits: rateLimits(config),
      a2a: new A2a({ db, messaging, logger, requestTtlMs: config.defaultTtlMs }),
    },
    services,
  };
}
