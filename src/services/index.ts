import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import type { Logger } from "pino";
import { AuthService } from "../../gen/agentnet/v1/auth_pb.js";
import { MessagingService } from "../../gen/agentnet/v1/messaging_pb.js";
import { RegistryService } from "../../gen/agentnet/v1/registry_pb.js";
import { SessionService } from "../../gen/agentnet/v1/session_pb.js";
import { TokenService } from "../../gen/agentnet/v1/token_pb.js";
import { VoiceAgentService } from "../../gen/agentnet/v1/voice_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection as ServerReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import type { Auth } from "../auth/auth.js";
import type { Bus } from "../bus/index.js";
import type { Config } from "../config.js";
import type { AddHttpRoute } from "../server/http-routes.js";
import type { Store } from "../store/database.js";
import { registerAuthService } from "./auth.js";
import { Presence } from "../registry/presence.js";
import { registerMessagingService } from "./messaging.js";
import { registerRegistryService } from "./registry.js";
import { registerRetention } from "./retention.js";
import { registerSessionService } from "./sessions.js";
import { registerVoice } from "./voice.js";

export interface ServiceDeps {
  auth: Auth;
  config: Config;
  store: Store;
  bus: Bus;
  logger: Logger;
  /** Identifies this gateway process (presence records it; logs show it). */
  gatewayId: string;
  /** Aborted when the gateway starts shutting down: background loops and live streams stop on it. */
  shutdownSignal: AbortSignal;
  /** Registers work to run on shutdown, after the listener closed and before bus and store close. */
  onClose(fn: () => Promise<void> | void): void;
  /**
   * Serves a plain HTTP route (exact method and path) on the gateway's port, for paths no RPC owns — e.g. the Agora
   * seed's `GET /get_config`. CORS applies as for RPCs; the handler does its own authentication and writes the
   * whole response (src/server/http-routes.ts).
   */
  addHttpRoute: AddHttpRoute;
}

/** Methods and whole services callable without credentials. */
export const PUBLIC_METHODS: ReadonlySet<string> = new Set([
  `${AuthService.typeName}/${AuthService.method.login.name}`,
  Health.typeName,
  ServerReflectionV1.typeName,
  ServerReflectionV1alpha.typeName,
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
    Health,
    ServerReflectionV1,
    ServerReflectionV1alpha,
  ];
}

export function registerServices(router: ConnectRouter, deps: ServiceDeps): void {
  // Presence is shared: RegistryService reads and announces it, MessagingService.Subscribe holds sessions with it.
  const presence = new Presence({
    db: deps.store.db,
    bus: deps.bus,
    logger: deps.logger,
    config: deps.config,
    gatewayId: deps.gatewayId,
  });
  presence.start();
  deps.onClose(() => presence.stop());
  registerAuthService(router, deps);
  registerRegistryService(router, deps, presence);
  registerMessagingService(router, deps, presence);
  registerRetention(deps);
  registerSessionService(router, deps, presence);
  registerVoice(router, deps);
}
