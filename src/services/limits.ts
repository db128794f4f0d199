import type { Config } from "../config.js";
import { RateLimit } from "../rate-limit.js";

/** The per-RPC rate limits the adapters apply before calling a domain (keys come from the call: address, user). */
export interface Limits {
  login: RateLimit;
  verify: RateLimit;
  register: RateLimit;
  sessionCreate: RateLimit;
  sessionQuery: RateLimit;
  sessionMessage: RateLimit;
}

export function rateLimits(config: Config): Limits {
  return {
    login: new RateLimit("login attempts", config.loginRatePerMinute, 60),
    verify: new RateLimit("verify calls", config.verifyRatePerMinute, 60),
    // Per owner: a fleet restarting at once passes; a process stuck in a register loop does not flood the store.
    register: new RateLimit("registrations", config.registerRatePerMinute, 60),
    // Per user, as the seed counts them; StreamSession counts as a query.
    sessionCreate: new RateLimit("sessions created", config.sessions.createRatePerMinute, 60),
    sessionQuery: new RateLimit("session queries", config.sessions.queryRatePerMinute, 60),
    sessionMessage: new RateLimit("session messages", config.sessions.messageRatePerMinute, 60),
  };
}
