import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { StatsScope, StatsService } from "../../gen/agentnet/v1/stats_pb.js";
import { principalOf } from "../server/context.js";
import type { NetworkStats } from "../stats/index.js";

/** StatsService: the caller's scope of the network's figures. */
export function registerStatsService(router: ConnectRouter, stats: NetworkStats): void {
  router.service(StatsService, {
    async getNetworkStats(_req, ctx) {
      const f = await stats.figures(principalOf(ctx));
      return {
        scope: f.scope === "network" ? StatsScope.NETWORK : StatsScope.OWN_ACCOUNTS,
        agentsOnline: BigInt(f.agentsOnline),
        sessionsOnline: BigInt(f.sessionsOnline),
        messagesPerSecond: f.messagesPerSecond,
        rateWindowSeconds: f.rateWindowSeconds,
        messagesPending: BigInt(f.messagesPending),
        readAt: timestampFromDate(f.readAt),
      };
    },
  });
}
