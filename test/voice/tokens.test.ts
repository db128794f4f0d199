import { describe, expect, it } from "vitest";
import { DomainError } from "../../src/errors.js";
import { VoiceTokens } from "../../src/voice/tokens.js";
import { uidString } from "../../src/voice/validation.js";
import {
  PRIV_JOIN_CHANNEL,
  PRIV_PUBLISH_AUDIO,
  PRIV_PUBLISH_DATA,
  PRIV_PUBLISH_VIDEO,
  PRIV_RTM_LOGIN,
  SERVICE_RTC,
  SERVICE_RTM,
  parseAccessToken2,
  signatureValid,
} from "./access-token2.js";

const APP_ID = "0123456789abcdef0123456789abcdef";
const CERT = "fedcba9876543210fedcba9876543210";
const tokens = new VoiceTokens({ appId: APP_ID, appCertificate: CERT });

function refusal(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DomainError);
    return err as DomainError;
  }
  throw new Error("expected a refusal");
}

function privileges(service: { privileges: Map<number, number> } | undefined): Record<number, number> {
  return Object.fromEntries(service?.privileges ?? []);
}

describe("voice tokens (AccessToken2 decoded and verified offline)", () => {
  it("GetConfig: a user token with RTC publisher and RTM login for 24 h, two different random uids, channel_<unix s>", () => {
    const before = Math.floor(Date.now() / 1000);
    const config = tokens.connectionConfig({});
    const after = Math.floor(Date.now() / 1000);
    expect(config.appId).toBe(APP_ID);
    expect(config.uid).toMatch(/^\d{7,8}$/);
    expect(config.agentUid).toMatch(/^\d{7,8}$/);
    expect(config.agentUid).not.toBe(config.uid);
    expect(config.channelName).toMatch(/^channel_\d{10}$/);
    const ts = Number(config.channelName.slice("channel_".length));
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(after);
    expect(config.expiresIn).toBe(86_400);

    const parsed = parseAccessToken2(config.token);
    expect(signatureValid(parsed, CERT)).toBe(true);
    expect(signatureValid(parsed, "00000000000000000000000000000000")).toBe(false);
    expect(parsed.appId).toBe(APP_ID);
    expect(parsed.expire).toBe(86_400);
    expect(parsed.issueTs).toBeGreaterThanOrEqual(before);
    expect(parsed.issueTs).toBeLessThanOrEqual(after);
    expect(config.expiresAt.getTime()).toBe((parsed.issueTs + 86_400) * 1000);
    expect(parsed.services.map((s) => s.type)).toEqual([SERVICE_RTC, SERVICE_RTM]);
    const [rtc, rtm] = parsed.services;
    expect(rtc).toMatchObject({ channel: config.channelName, uid: config.uid });
    // Publisher: join and all three publish privileges, each expiring with the token.
    expect(privileges(rtc)).toEqual({
      [PRIV_JOIN_CHANNEL]: 86_400,
      [PRIV_PUBLISH_AUDIO]: 86_400,
      [PRIV_PUBLISH_VIDEO]: 86_400,
      [PRIV_PUBLISH_DATA]: 86_400,
    });
    expect(rtm).toMatchObject({ userId: config.uid });
    expect(privileges(rtm)).toEqual({ [PRIV_RTM_LOGIN]: 86_400 });
  });

  it("GetConfig takes a channel and an expiry", () => {
    const config = tokens.connectionConfig({ channelName: "room 7", expiresIn: 600n });
    const parsed = parseAccessToken2(config.token);
    expect(config.channelName).toBe("room 7");
    expect(parsed.expire).toBe(600);
    expect(parsed.services[0]?.channel).toBe("room 7");
    expect(privileges(parsed.services[1])).toEqual({ [PRIV_RTM_LOGIN]: 600 });
  });

  it("IssueRtcToken for a numeric uid as publisher: RTC only, join + publish, privilege expiry = token expiry", () => {
    const issued = tokens.rtc({ channelName: "demo", user: { uid: 4242 }, role: "publisher", expiresIn: 120, withRtm: false });
    expect(issued.uid).toBe("4242");
    const parsed = parseAccessToken2(issued.token);
    expect(signatureValid(parsed, CERT)).toBe(true);
    expect(parsed.expire).toBe(120);
    expect(parsed.services).toHaveLength(1);
    expect(parsed.services[0]).toMatchObject({ type: SERVICE_RTC, channel: "demo", uid: "4242" });
    expect(privileges(parsed.services[0])).toEqual({ 1: 120, 2: 120, 3: 120, 4: 120 });
  });

  it("IssueRtcToken as subscriber: join only; default expiry 3600", () => {
    const issued = tokens.rtc({ channelName: "demo", user: { account: "alice@example" }, role: "subscriber", withRtm: false });
    const parsed = parseAccessToken2(issued.token);
    expect(issued.uid).toBe("alice@example");
    expect(parsed.expire).toBe(3600);
    expect(parsed.services[0]).toMatchObject({ channel: "demo", uid: "alice@example" });
    expect(privileges(parsed.services[0])).toEqual({ [PRIV_JOIN_CHANNEL]: 3600 });
  });

  it("uid 0 means any uid (empty in the token); with_rtm adds RTM login for the same user", () => {
    const any = parseAccessToken2(tokens.rtc({ channelName: "c", user: { uid: 0 }, role: "publisher", withRtm: false }).token);
    expect(any.services[0]?.uid).toBe("");
    const both = tokens.rtc({ channelName: "c", user: { uid: 77 }, role: "publisher", expiresIn: 60, withRtm: true });
    const parsed = parseAccessToken2(both.token);
    expect(parsed.services.map((s) => [s.type, s.uid ?? s.userId])).toEqual([
      [SERVICE_RTC, "77"],
      [SERVICE_RTM, "77"],
    ]);
    expect(privileges(parsed.services[1])).toEqual({ [PRIV_RTM_LOGIN]: 60 });
    expect(refusal(() => tokens.rtc({ channelName: "c", user: { uid: 0 }, role: "publisher", withRtm: true })).reason).toBe(
      "invalid_account",
    );
  });

  it("IssueRtmToken: RTM login only, for the user id", () => {
    const issued = tokens.rtm({ userId: "agent-7", expiresIn: 900n });
    const parsed = parseAccessToken2(issued.token);
    expect(signatureValid(parsed, CERT)).toBe(true);
    expect(parsed.expire).toBe(900);
    expect(parsed.services).toHaveLength(1);
    expect(parsed.services[0]).toMatchObject({ type: SERVICE_RTM, userId: "agent-7" });
    expect(privileges(parsed.services[0])).toEqual({ [PRIV_RTM_LOGIN]: 900 });
  });

  it.each([
    ["", "invalid_channel_name"],
    ["x".repeat(65), "invalid_channel_name"],
    ["é", "invalid_channel_name"],
    ["a/b", "invalid_channel_name"],
    ["tab\there", "invalid_channel_name"],
  ])("refuses channel %j with %s naming channel_name", (channelName, reason) => {
    const err = refusal(() => tokens.rtc({ channelName, user: { uid: 1 }, role: "publisher", withRtm: false }));
    expect(err).toMatchObject({ kind: "invalid_argument", reason, field: "channel_name" });
    expect(refusal(() => tokens.connectionConfig({ channelName })).field).toBe("channel_name");
  });

  it("accepts every character Agora allows in a channel name, up to 64 bytes", () => {
    const all = "aZ09 !#$%&()+-:;<=.>?@[]^_{|}~,";
    expect(tokens.rtc({ channelName: all, user: { uid: 1 }, role: "publisher", withRtm: false }).token).toMatch(/^007/);
    expect(tokens.rtc({ channelName: "x".repeat(64), user: { uid: 1 }, role: "publisher", withRtm: false }).token).toMatch(/^007/);
  });

  it.each([0n, -1n, 86_401n])("refuses expiry %s with invalid_expiry", (expiresIn) => {
    expect(refusal(() => tokens.rtm({ userId: "u", expiresIn }))).toMatchObject({ reason: "invalid_expiry", field: "expires_in" });
    expect(refusal(() => tokens.connectionConfig({ expiresIn }))).toMatchObject({ reason: "invalid_expiry", field: "expires_in" });
    expect(refusal(() => tokens.rtc({ channelName: "c", user: { uid: 1 }, role: "publisher", expiresIn, withRtm: false })).reason).toBe(
      "invalid_expiry",
    );
  });

  it("refuses an empty or oversized RTM user id and an empty or oversized account", () => {
    expect(refusal(() => tokens.rtm({ userId: "" }))).toMatchObject({ reason: "invalid_user_id", field: "user_id" });
    expect(refusal(() => tokens.rtm({ userId: "u".repeat(65) }))).toMatchObject({ reason: "invalid_user_id", field: "user_id" });
    expect(refusal(() => tokens.rtc({ channelName: "c", user: { account: "" }, role: "publisher", withRtm: false }))).toMatchObject({
      reason: "invalid_account",
      field: "account",
    });
    expect(
      refusal(() => tokens.rtc({ channelName: "c", user: { account: "a".repeat(256) }, role: "publisher", withRtm: false })).reason,
    ).toBe("invalid_account");
    expect(refusal(() => tokens.rtc({ channelName: "c", user: undefined, role: "publisher", withRtm: false })).reason).toBe(
      "invalid_account",
    );
  });

  it("normalises uids to strings in one place", () => {
    expect(uidString(1234567)).toBe("1234567");
    expect(uidString("1234567")).toBe("1234567");
    expect(uidString(" 001234567 ")).toBe("1234567");
    expect(uidString(1234567n)).toBe("1234567");
    expect(uidString("alice")).toBe("alice");
    expect(refusal(() => uidString(2 ** 32))).toMatchObject({ reason: "invalid_uid" });
    expect(refusal(() => uidString("4294967296")).reason).toBe("invalid_uid");
    expect(refusal(() => uidString(1.5)).reason).toBe("invalid_uid");
    expect(refusal(() => uidString("", "agent_uid"))).toMatchObject({ reason: "invalid_uid", field: "agent_uid" });
  });
});
