import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { RtcRole, TokenService } from "../../gen/agentnet/v1/token_pb.js";
import { principalOf } from "../server/context.js";
import { requireVoice, type Voice } from "../voice/index.js";

/**
 * TokenService: Agora RTC/RTM tokens and the seed's connection config. Authenticated callers only: the auth
 * interceptor refuses anonymous calls, and each handler asks for the principal so a wiring mistake fails loudly.
 */
export function registerTokenService(router: ConnectRouter, voice: Voice | undefined): void {
  router.service(TokenService, {
    async getConfig(req, ctx) {
      principalOf(ctx);
      const config = requireVoice(voice).tokens.connectionConfig({ channelName: req.channelName, expiresIn: req.expiresIn });
      return {
        appId: config.appId,
        token: config.token,
        uid: config.uid,
        channelName: config.channelName,
        agentUid: config.agentUid,
        expiresAt: timestampFromDate(config.expiresAt),
      };
    },

    async issueRtcToken(req, ctx) {
      principalOf(ctx);
      const { tokens } = requireVoice(voice);
      const role = req.role === RtcRole.SUBSCRIBER ? "subscriber" : "publisher";
      const user =
        req.user.case === "uid" ? { uid: req.user.value } : req.user.case === "account" ? { account: req.user.value } : undefined;
      const issued = tokens.rtc({ channelName: req.channelName, user, role, expiresIn: req.expiresIn, withRtm: req.withRtm });
      return {
        token: issued.token,
        appId: tokens.appId,
        channelName: req.channelName,
        uid: issued.uid,
        role: role === "subscriber" ? RtcRole.SUBSCRIBER : RtcRole.PUBLISHER,
        expiresIn: BigInt(issued.expiresIn),
        expiresAt: timestampFromDate(issued.expiresAt),
      };
    },

    async issueRtmToken(req, ctx) {
      principalOf(ctx);
      const { tokens } = requireVoice(voice);
      const issued = tokens.rtm({ userId: req.userId, expiresIn: req.expiresIn });
      return {
        token: issued.token,
        appId: tokens.appId,
        userId: req.userId,
        expiresIn: BigInt(issued.expiresIn),
        expiresAt: timestampFromDate(issued.expiresAt),
      };
    },
  });
}
