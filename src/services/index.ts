import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { AuthService } from "../../gen/agentnet/v1/auth_pb.js";
import { MessagingService } from "../../gen/agentnet/v1/messaging_pb.js";
import { RegistryService } from "../../gen/agentnet/v1/registry_pb.js";
import { SessionService } from "../../gen/agentnet/v1/session_pb.js";
import { StatsService } from "../../gen/agentnet/v1/stats_pb.js";
import { TokenService } from "../../gen/agentnet/v1/token_pb.js";
import { VoiceAgentService } from "../../gen/agentnet/v1/voice_pb.js";
import { A2AService } from "../../gen/lf/a2a/v1/a2a_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection as ServerReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import type { A2a } from "../a2a/index.js";
import type { AgentStatus } from "../agent-status/index.js";
import type { Auth } from "../auth/index.js";
import type { Blobs } from "../blobs/index.js";
import type { History, Messaging } from "../messaging/index.js";
import type { Presence, Registry } from "../registry/index.js";
import type { Sessions } from "../sessions/index.js";
import type { NetworkStats } from "../stats/index.js";
import type { Voice } from "../voice/index.js";
import type { AdapterOptions } from "./adapter-options.js";
import { registerA2aService } from "./a2a.js";
import { registerA2aHttp } from "./a2a-http.js";
import { registerAuthService } from "./auth.js";
import type { Limits } from "./limits.js";
import { registerMessagingService } from "./messaging.js";
import { registerRegistryService } from "./registry.js";
import { registerSessionService } from "./sessions.js";
import { registerStatsService } from "./stats.js";
import { registerVoice } from "./voice.js";

export type { AdapterOptions } from "./adapter-options.js";
export { type Limits, rateLimits } from "./limits.js";

/** The built domains of one gateway, which the adapters translate RPCs to and from (built in src/app/). */
export interface Domains {
  auth: Auth;
  presence: Presence;
  registry: Registry;
  agentStatus: AgentStatus;
  messaging: Messaging;
  history: History;
  blobs: Blobs;
  sessions: Sessions;
  stats: NetworkStats;
  /** Absent when APP_ID / APP_CERTIFICATE are unset: every voice call then answers `voice_not_configured`. */
  voice: Voice | undefined;
  limits: Limits;
  a2a: A2a;
}

/** The transport's own services (health and reflection): they answer without credentials or the database. */
export const TRANSPORT_SERVICES: ReadonlySet<string> = new Set([
  Health.typeName,
  ServerReflectionV1.typeName,
  ServerReflectionV1alpha.typeName,
]);

/** Methods and whole services callable without credentials. */
export const PUBLIC_METHODS: ReadonlySet<string> = new Set([
  `${AuthService.typeName}/${AuthService.method.login.name}`,
  ...TRANSPORT_SERVICES,
]);

/** Every service the gateway serves, for health and reflection. */
export function servedServices(): DescService[] {
  return [
    AuthService,
    RegistryService,
    MessagingService,
    SessionService,
    TokenService,
    VoiceAgentService,
    StatsService,
    A2AService,
    Health,
    ServerReflectionV1,
    ServerReflectionV1alpha,
  ];
}

/** Registers the agentnet services (health and reflection are the transport's) as adapters over `domains`. */
export function registerServices(router: ConnectRouter, domains: Domains, options: AdapterOptions): void {
  registerAuthService(router, domains.auth, domains.limits);
  registerRegistryService(router, domains.registry, domains.agentStatus, domains.limits);
  registerMessagingService(router, domains, options.logger);
  registerSessionService(router, domains.sessions, domains.limits);
  registerVoice(router, domains.voice, domains.auth, options);
  registerStatsService(router, domains.stats);
  registerA2aService(router, domains.a2a);
  registerA2aHttp({ ...options, auth: domains.auth }, domains.a2a);
}
