import agoraToken from "agora-token";
import { DomainError } from "../errors.js";
import { checkAccount, checkChannelName, checkExpiry, checkRtmUserId, randomUid, uidString } from "./validation.js";

const { RtcRole: AgoraRole, RtcTokenBuilder, RtmTokenBuilder } = agoraToken;

// AccessToken2 ("007…") tokens built with agora-token. Expiry is relative seconds and every privilege expires with
// the token (the builders' privilegeExpire is always the token's expiry). Nothing here logs; tokens and the
// certificate never leave this object except as the tokens returned to the caller.

export type RtcRole = "publisher" | "subscriber";

export interface AgoraCredentials {
  appId: string;
  appCertificate: string;
}

export interface IssuedToken {
  token: string;
  expiresIn: number;
  expiresAt: Date;
}

export interface ConnectionConfig extends IssuedToken {
  appId: string;
  uid: string;
  channelName: string;
  agentUid: string;
}

/** Who an RTC token is for: a numeric uid (0 = any uid) or a string account. */
export type RtcUser = { uid: number } | { account: string };

export const CONFIG_EXPIRY_SECONDS = 86_400;
export const TOKEN_EXPIRY_SECONDS = 3_600;

export class VoiceTokens {
  constructor(private readonly credentials: AgoraCredentials) {}

  get appId(): string {
    return this.credentials.appId;
  }

  /**
   * The seed's /get_config: a random user uid with an RTC publisher + RTM login token (buildTokenWithRtm, the
   * uid as string account), a channel (`channel_<unix seconds>` unless given) and a different random agent uid.
   */
  connectionConfig(input: { channelName?: string | undefined; expiresIn?: number | bigint | undefined }): ConnectionConfig {
    const channelName = input.channelName === undefined ? `channel_${Math.floor(Date.now() / 1000)}` : checkChannelName(input.channelName);
    const expiresIn = checkExpiry(input.expiresIn, CONFIG_EXPIRY_SECONDS);
    const uid = randomUid();
    let agentUid = randomUid();
    while (agentUid === uid) agentUid = randomUid();
    return { appId: this.appId, uid, channelName, agentUid, ...this.rtcWithRtm(channelName, uid, expiresIn) };
  }

  /** An RTC token for one uid or account in one channel; `withRtm` adds RTM login for the same user. */
  rtc(input: {
    channelName: string;
    user: RtcUser | undefined;
    role: RtcRole;
    expiresIn?: number | bigint | undefined;
    withRtm: boolean;
  }): IssuedToken & { uid: string } {
    const channelName = checkChannelName(input.channelName);
    const expiresIn = checkExpiry(input.expiresIn, TOKEN_EXPIRY_SECONDS);
    if (input.user === undefined) {
      throw new DomainError("invalid_argument", "invalid_account", "account: set either uid or account", { field: "account" });
    }
    // A numeric uid goes to the builder as a number so that 0 keeps Agora's meaning (any uid); an account is a string.
    const user: number | string = "uid" in input.user ? Number(uidString(input.user.uid)) : checkAccount(input.user.account);
    const uid = typeof user === "number" ? uidString(user) : user;
    if (input.withRtm && user === 0) {
      throw new DomainError("invalid_argument", "invalid_account", "uid: RTM login needs a concrete user; 0 (any uid) cannot log in", {
        field: "uid",
      });
    }
    const role = input.role === "subscriber" ? AgoraRole.SUBSCRIBER : AgoraRole.PUBLISHER;
    const { appId, appCertificate } = this.credentials;
    const issuedAt = Date.now();
    // With RTM the user goes as its string: the RTM service serialises it as one (a number would not pack).
    const token = input.withRtm
      ? RtcTokenBuilder.buildTokenWithRtm(appId, appCertificate, channelName, uid, role, expiresIn, expiresIn)
      : typeof user === "number"
        ? RtcTokenBuilder.buildTokenWithUid(appId, appCertificate, channelName, user, role, expiresIn, expiresIn)
        : RtcTokenBuilder.buildTokenWithUserAccount(appId, appCertificate, channelName, user, role, expiresIn, expiresIn);
    return { uid, ...issued(token, expiresIn, issuedAt) };
  }

  /** An RTM login token for one user id. */
  rtm(input: { userId: string; expiresIn?: number | bigint | undefined }): IssuedToken {
    const userId = checkRtmUserId(input.userId);
    const expiresIn = checkExpiry(input.expiresIn, TOKEN_EXPIRY_SECONDS);
    const issuedAt = Date.now();
    return issued(
      RtmTokenBuilder.buildToken(this.credentials.appId, this.credentials.appCertificate, userId, expiresIn),
      expiresIn,
      issuedAt,
    );
  }

  /**
   * RTC publisher + RTM login for a string uid in a channel: what a user needs to talk with an agent, what an agent
   * joins with, and what authenticates REST calls about that agent (`Authorization: agora token=…`).
   */
  rtcWithRtm(channelName: string, uid: string, expiresIn: number): IssuedToken {
    const { appId, appCertificate } = this.credentials;
    const issuedAt = Date.now();
    const token = RtcTokenBuilder.buildTokenWithRtm(appId, appCertificate, channelName, uid, AgoraRole.PUBLISHER, expiresIn, expiresIn);
    return issued(token, expiresIn, issuedAt);
  }
}

function issued(token: string, expiresIn: number, issuedAtMs: number): IssuedToken {
  // The builders return "" when they refuse their input; config validation should make that impossible.
  if (token === "") throw new Error("agora-token refused to build a token (App ID or certificate malformed?)");
  // The token's issue time is whole seconds (truncated), so its expiry is too.
  return { token, expiresIn, expiresAt: new Date((Math.floor(issuedAtMs / 1000) + expiresIn) * 1000) };
}
