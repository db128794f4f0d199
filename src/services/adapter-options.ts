import type { Logger } from "pino";
import type { RpcMetrics } from "../metrics/index.js";
import type { AddHttpRoute } from "../server/http-routes.js";

/** What the adapters need of the transport beside the router. */
export interface AdapterOptions {
  logger: Logger;
  /** Calls served beside the router's (A2A's JSON-RPC binding) are counted into the same RPC metrics. */
  rpcMetrics: RpcMetrics;
  /**
   * Aborted when the gateway starts draining: plain HTTP streams (A2A's SSE) end then, as the RPC streams do,
   * rather than at the end of the grace period.
   */
  draining: AbortSignal;
  /**
   * Serves a plain HTTP route (exact method and path) on the gateway's port, for paths no RPC owns — e.g. the Agora
   * seed's `GET /get_config`. CORS applies as for RPCs; the handler does its own authentication and writes the
   * whole response (src/server/http-routes.ts).
   */
  addHttpRoute: AddHttpRoute;
  /** Serve the Agora seed's HTTP routes without credentials (AGENTNET_VOICE_PUBLIC_SEED_ROUTES). */
  publicSeedRoutes: boolean;
}
