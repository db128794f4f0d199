import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/agentnet/v1/auth_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { RtcRole, TokenService } from "../../gen/agentnet/v1/token_pb.js";
import { SpeakPriority, VoiceAgentService, VoiceAgentStatus } from "../../gen/agentnet/v1/voice_pb.js";
import { createUser, loginAdmin, type TestUser } from "../support/agents.js";
import { client } from "../support/clients.js";
import { expectError, fieldOf, retryDelayMs } from "../support/errors.js";
import { MODES, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";
import { PRIV_RTM_LOGIN, SERVICE_RTC, SERVICE_RTM, parseAccessToken2, signatureValid } from "./access-token2.js";
import { FAKE_APP_ID, FAKE_CERTIFICATE, FakeAgora } from "./fake-agora.js";
import { DEEPGRAM_KEY, LLM_KEY, MINIMAX_KEY, SECRETS, startLoggingGateway, voiceEnv } from "./helpers.js";

type VoiceClient = ReturnType<typeof voiceClient>;
function voiceClient(url: string, user: TestUser) {
  return client(VoiceAgentService, url, user.token);
}

describe.each(MODES)("voice services (%s)", (mode) => {
  let backend: TestBackend;
  let fake: FakeAgora;
  let gw: TestGateway;
  let logs: () => string;
  let admin: TestUser;
  let alice: TestUser;
  let bob: TestUser;
  let asAlice: VoiceClient;
  let asBob: VoiceClient;
  let asAdmin: VoiceClient;

  beforeAll(async () => {
    backend = await createBackend(mode);
    fake = await new FakeAgora().start();
    ({ gw, logs } = await startLoggingGateway(backend, voiceEnv(fake)));
    admin = await loginAdmin(gw.url);
    alice = await createUser(gw.url, admin, "alice");
    bob = await createUser(gw.url, admin, "bob");
    asAlice = voiceClient(gw.url, alice);
    asBob = voiceClient(gw.url, bob);
    asAdmin = voiceClient(gw.url, admin);
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
    await backend?.dispose();
  });

  describe("TokenService", () => {
    it("GetConfig answers the seed's bundle with a verifiable RTC+RTM token", async () => {
      const tokens = client(TokenService, gw.url, alice.token);
      const res = await tokens.getConfig({});
      expect(res.appId).toBe(FAKE_APP_ID);
      expect(res.uid).not.toBe(res.agentUid);
      expect(res.channelName).toMatch(/^channel_\d+$/);
      const parsed = parseAccessToken2(res.token);
      expect(signatureValid(parsed, FAKE_CERTIFICATE)).toBe(true);
      expect(parsed.expire).toBe(86_400);
      expect(parsed.services.map((s) => s.type)).toEqual([SERVICE_RTC, SERVICE_RTM]);
      expect(parsed.services[0]).toMatchObject({ channel: res.channelName, uid: res.uid });
      expect(Number(res.expiresAt?.seconds)).toBe(parsed.issueTs + 86_400);
    });

    it("IssueRtcToken / IssueRtmToken, and INVALID_ARGUMENT naming the field", async () => {
      const tokens = client(TokenService, gw.url, alice.token);
      const rtc = await tokens.issueRtcToken({
        channelName: "demo",
        user: { case: "uid", value: 5 },
        role: RtcRole.SUBSCRIBER,
        expiresIn: 60n,
      });
      expect(rtc).toMatchObject({ uid: "5", channelName: "demo", role: RtcRole.SUBSCRIBER, expiresIn: 60n, appId: FAKE_APP_ID });
      expect(Object.fromEntries(parseAccessToken2(rtc.token).services[0]?.privileges ?? [])).toEqual({ 1: 60 });
      const rtm = await tokens.issueRtmToken({ userId: "alice-rtm" });
      expect(rtm.expiresIn).toBe(3600n);
      expect(parseAccessToken2(rtm.token).services[0]).toMatchObject({
        type: SERVICE_RTM,
        userId: "alice-rtm",
        privileges: new Map([[PRIV_RTM_LOGIN, 3600]]),
      });

      const badExpiry = await expectError(
        tokens.issueRtcToken({ channelName: "demo", user: { case: "uid", value: 5 }, expiresIn: 86_401n }),
        Code.InvalidArgument,
        "invalid_expiry",
      );
      expect(fieldOf(badExpiry)).toBe("expires_in");
      expect(
        fieldOf(
          await expectError(
            tokens.issueRtcToken({ channelName: "", user: { case: "uid", value: 5 } }),
            Code.InvalidArgument,
            "invalid_channel_name",
          ),
        ),
      ).toBe("channel_name");
      expect(
        fieldOf(
          await expectError(
            tokens.issueRtcToken({ channelName: "a".repeat(65), user: { case: "account", value: "x" } }),
            Code.InvalidArgument,
            "invalid_channel_name",
          ),
        ),
      ).toBe("channel_name");
      expect(
        fieldOf(
          await expectError(
            tokens.issueRtcToken({ channelName: "ü", user: { case: "account", value: "x" } }),
            Code.InvalidArgument,
            "invalid_channel_name",
          ),
        ),
      ).toBe("channel_name");
      expect(fieldOf(await expectError(tokens.issueRtmToken({ userId: "" }), Code.InvalidArgument, "invalid_user_id"))).toBe("user_id");
      await expectError(tokens.getConfig({ expiresIn: 0n }), Code.InvalidArgument, "invalid_expiry");
    });

    // IssueRtcToken.uid is a uint32 on the wire, so protobuf itself bounds it; through JSON a non-decimal or
    // out-of-range value must be refused as a malformed request, never coerced into some other uid.
    // (ProtoJSON reads "1e3" as 1000, so that one is a valid uint32 here; protobuf-es also reads "0x10" as 16.)
    it.each([["abc"], ["-1"], ["12.5"], ["4294967296"], [""], [" 12 "], [-1], [12.5], [4294967296], [true]])(
      "IssueRtcToken refuses uid %j with INVALID_ARGUMENT",
      async (uid) => {
        const res = await fetch(`${gw.url}/agentnet.v1.TokenService/IssueRtcToken`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${alice.token}` },
          body: JSON.stringify({ channelName: "demo", uid }),
        });
        expect(res.status).toBe(400);
        expect(((await res.json()) as { code: string }).code).toBe("invalid_argument");
      },
    );

    it("gives tokens to authenticated callers only", async () => {
      await expectError(client(TokenService, gw.url).getConfig({}), Code.Unauthenticated);
      await expectError(client(TokenService, gw.url, "nonsense").issueRtmToken({ userId: "x" }), Code.Unauthenticated);
    });
  });

  describe("VoiceAgentService", () => {
    it("starts an agent with the seed's join body, authenticated with the agent's RTC+RTM token", async () => {
      const before = fake.calls("join").length;
      const res = await asAlice.startVoiceAgent({ channelName: "room_a", agentUid: "58888506", remoteUids: ["1234567"] });
      expect(res.status).toBe(VoiceAgentStatus.RUNNING);
      expect(res.channelName).toBe("room_a");
      expect(res.agent).toMatchObject({
        agentId: res.agentId,
        owner: "alice",
        agentUid: "58888506",
        remoteUids: ["1234567"],
        llmModel: "gpt-4o-mini",
        ttsVendor: "minimax",
        asrVendor: "deepgram",
        lastError: "",
      });
      const created = Number(res.agent?.createdAt?.seconds);
      expect(Number(res.agent?.maxRunUntil?.seconds) - created).toBeGreaterThanOrEqual(3599);

      expect(fake.violations).toEqual([]);
      const joins = fake.calls("join");
      expect(joins).toHaveLength(before + 1);
      const body = joins.at(-1)?.body as { name: string; properties: Record<string, unknown> };
      expect(body.name).toMatch(/^agent_room_a_[0-9a-f]{12}$/);
      expect(body.properties).toMatchObject({
        channel: "room_a",
        agent_rtc_uid: "58888506",
        remote_rtc_uids: ["1234567"],
        enable_string_uid: true,
        idle_timeout: 30,
        advanced_features: { enable_rtm: true },
        parameters: { data_channel: "rtm", enable_error_message: true },
        llm: { url: "https://api.openai.com/v1/chat/completions", api_key: LLM_KEY, params: { model: "gpt-4o-mini" } },
        tts: {
          vendor: "minimax",
          params: { key: MINIMAX_KEY, model: "speech_2_6_turbo", voice_setting: { voice_id: "English_captivating_female1" } },
        },
        asr: { vendor: "deepgram", params: { key: DEEPGRAM_KEY, model: "nova-3", language: "en" } },
      });
      expect(joins.at(-1)?.authorization).toMatch(/^agora token=007/);
    });

    it("normalises uids, generates names that never collide, and applies overrides", async () => {
      const one = await asAlice.startVoiceAgent({ channelName: "room b", remoteUids: [" 0042 "] });
      const two = await asAlice.startVoiceAgent({
        channelName: "room b",
        agentUid: "777",
        remoteUids: ["42"],
        instructions: "Talk like a pirate.",
        greeting: "Ahoy!",
        llm: { model: "gpt-4.1-mini" },
        idleTimeoutSeconds: 5,
        enableRtm: false,
      });
      expect(one.agent?.agentUid).toMatch(/^\d{7,8}$/);
      expect(one.agent?.remoteUids).toEqual(["42"]);
      const bodies = fake
        .calls("join")
        .slice(-2)
        .map((c) => c.body as { name: string; properties: Record<string, Record<string, unknown>> });
      expect(bodies[0]?.name).not.toBe(bodies[1]?.name);
      expect(bodies[1]?.properties).toMatchObject({
        idle_timeout: 5,
        advanced_features: { enable_rtm: false },
        parameters: { data_channel: "datastream" },
        llm: {
          system_messages: [{ role: "system", content: "Talk like a pirate." }],
          greeting_message: "Ahoy!",
          params: { model: "gpt-4.1-mini" },
        },
      });
      expect(two.agent?.llmModel).toBe("gpt-4.1-mini");
      expect(fake.violations).toEqual([]);
    });

    it("refuses bad starts with the contract's reasons", async () => {
      expect(
        fieldOf(
          await expectError(asAlice.startVoiceAgent({ channelName: "", remoteUids: ["1"] }), Code.InvalidArgument, "invalid_channel_name"),
        ),
      ).toBe("channel_name");
      expect(
        fieldOf(
          await expectError(asAlice.startVoiceAgent({ channelName: "c", remoteUids: [] }), Code.InvalidArgument, "missing_remote_uids"),
        ),
      ).toBe("remote_uids");
      expect(
        fieldOf(
          await expectError(
            asAlice.startVoiceAgent({ channelName: "c", agentUid: "no/slash", remoteUids: ["1"] }),
            Code.InvalidArgument,
            "invalid_uid",
          ),
        ),
      ).toBe("agent_uid");
      await expectError(
        asAlice.startVoiceAgent({ channelName: "c", agentUid: "9", remoteUids: ["9"] }),
        Code.InvalidArgument,
        "invalid_uid",
      );
      await expectError(
        asAlice.startVoiceAgent({ channelName: "c", remoteUids: ["1"], tts: { vendor: "elevenlabs" } }),
        Code.FailedPrecondition,
        "tts_not_configured",
      );
      await expectError(
        asAlice.startVoiceAgent({ channelName: "c", remoteUids: ["1"], tts: { params: { url: "wss://evil.example" } } }),
        Code.InvalidArgument,
      );
    });

    // agent_uid is documented as a decimal string: an Agora numeric uid, 0..2^32-1 (0 is refused: the agent
    // needs a concrete uid for its token).
    it.each(["abc", "-1", "12.5", "+5", "1e3", "0x10", "12 34", "\uff11\uff12", "4294967296", "99999999999999999999", "0", " 0 "])(
      "refuses agent_uid %j with invalid_uid naming agent_uid",
      async (agentUid) => {
        const joins = fake.calls("join").length;
        const err = await expectError(
          asAlice.startVoiceAgent({ channelName: "c", agentUid, remoteUids: ["1"] }),
          Code.InvalidArgument,
          "invalid_uid",
        );
        expect(fieldOf(err)).toBe("agent_uid");
        expect(err.findDetails(ErrorInfoSchema)[0]?.metadata["field"]).toBe("agent_uid");
        expect(fake.calls("join")).toHaveLength(joins);
      },
    );

    it.each([
      ["4294967295", "4294967295"],
      [" 42 ", "42"],
      ["0077", "77"],
    ])("accepts agent_uid %j as %j", async (agentUid, expected) => {
      const res = await asAlice.startVoiceAgent({ channelName: "uids", agentUid, remoteUids: ["1"] });
      expect(res.agent?.agentUid).toBe(expected);
      expect((fake.calls("join").at(-1)!.body as { properties: { agent_rtc_uid: string } }).properties.agent_rtc_uid).toBe(expected);
      await asAlice.stopVoiceAgent({ agentId: res.agentId });
    });

    it("starting again under a name the caller runs returns that agent; another user gets agent_name_taken", async () => {
      const first = await asAlice.startVoiceAgent({ channelName: "named", name: "helper", remoteUids: ["1"] });
      const joins = fake.calls("join").length;
      const again = await asAlice.startVoiceAgent({ channelName: "named", name: "helper", remoteUids: ["1"] });
      expect(again.agentId).toBe(first.agentId);
      expect(fake.calls("join")).toHaveLength(joins);
      await expectError(
        asBob.startVoiceAgent({ channelName: "named", name: "helper", remoteUids: ["2"] }),
        Code.AlreadyExists,
        "agent_name_taken",
      );
    });

    it("handles Agora's 409 idempotently: the running agent it names is recorded and returned", async () => {
      // An agent Agora runs under this name that this server has no record of (e.g. a start whose answer was lost).
      fake.agents.set("1NT29XLOSTANSWER", {
        agentId: "1NT29XLOSTANSWER",
        name: "lost",
        channel: "c409",
        agentUid: "5",
        status: "RUNNING",
        startTs: 1,
        joinBody: {},
      });
      const res = await asAlice.startVoiceAgent({ channelName: "c409", agentUid: "5", name: "lost", remoteUids: ["6"] });
      expect(res.agentId).toBe("1NT29XLOSTANSWER");
      expect(res.agent?.owner).toBe("alice");
      expect((await asAlice.getVoiceAgent({ agentId: "1NT29XLOSTANSWER" })).agent?.name).toBe("lost");
      // A 409 that names no agent, for a name nobody here runs, stays ALREADY_EXISTS with Agora's reason.
      fake.failNext("join", { status: 409, reason: "TaskConflict" });
      const err = await expectError(asAlice.startVoiceAgent({ channelName: "c", remoteUids: ["1"] }), Code.AlreadyExists, "agora_error");
      expect(err.findDetails(ErrorInfoSchema)[0]?.metadata).toMatchObject({ agora_status: "409", agora_reason: "TaskConflict" });
    });

    it.each([
      [400, "InvalidRequest", Code.InvalidArgument],
      [422, "ResourceQuotaLimitExceeded", Code.InvalidArgument],
      [401, "Unauthorized", Code.FailedPrecondition],
      [403, "InvalidPermission", Code.FailedPrecondition],
      [404, "TaskNotFound", Code.NotFound],
      [429, "TooManyRequests", Code.ResourceExhausted],
      [500, "InternalError", Code.Unavailable],
      [503, "ServiceUnavailable", Code.Unavailable],
    ] as const)("maps Agora's %i %s on start to %s with reason agora_error", async (status, reason, code) => {
      fake.failNext("join", { status, reason, detail: "injected" });
      const err = await expectError(asAlice.startVoiceAgent({ channelName: "errors", remoteUids: ["1"] }), code, "agora_error");
      expect(err.findDetails(ErrorInfoSchema)[0]?.metadata).toMatchObject({ agora_status: String(status), agora_reason: reason });
      if (status === 429) expect(retryDelayMs(err)).toBeGreaterThan(0);
    });

    it("maps a network failure to UNAVAILABLE", async () => {
      fake.failNext("join", { status: 0, drop: true });
      const err = await expectError(asAlice.startVoiceAgent({ channelName: "errors", remoteUids: ["1"] }), Code.Unavailable, "agora_error");
      expect(err.findDetails(ErrorInfoSchema)[0]?.metadata).toMatchObject({ agora_status: "0", agora_reason: "network_error" });
    });

    it("stop is idempotent: running → STOPPED, again → STOPPED without calling Agora; an unknown id is NOT_FOUND", async () => {
      const { agentId } = await asAlice.startVoiceAgent({ channelName: "stop", remoteUids: ["1"] });
      const stopped = await asAlice.stopVoiceAgent({ agentId });
      expect(stopped.status).toBe(VoiceAgentStatus.STOPPED);
      expect(fake.agents.get(agentId)?.status).toBe("STOPPED");
      const leaves = fake.calls("leave").length;
      expect((await asAlice.stopVoiceAgent({ agentId })).status).toBe(VoiceAgentStatus.STOPPED);
      expect(fake.calls("leave")).toHaveLength(leaves);
      await expectError(asAlice.stopVoiceAgent({ agentId: "1NT29XNEVERHEARDOF" }), Code.NotFound, "agent_not_found");
      const got = await asAlice.getVoiceAgent({ agentId });
      expect(got.agent?.status).toBe(VoiceAgentStatus.STOPPED);
      expect(got.agent?.stoppedAt).toBeDefined();

      // Agora already let it go (idle timeout): its 404 on leave is success too.
      const other = await asAlice.startVoiceAgent({ channelName: "stop", remoteUids: ["1"] });
      fake.exit(other.agentId);
      expect((await asAlice.stopVoiceAgent({ agentId: other.agentId })).status).toBe(VoiceAgentStatus.STOPPED);
      // Agora failing is not success: the error comes back and the agent stays live.
      const third = await asAlice.startVoiceAgent({ channelName: "stop", remoteUids: ["1"] });
      fake.failNext("leave", { status: 503, reason: "ServiceUnavailable" });
      await expectError(asAlice.stopVoiceAgent({ agentId: third.agentId }), Code.Unavailable, "agora_error");
      expect((await asAlice.stopVoiceAgent({ agentId: third.agentId })).status).toBe(VoiceAgentStatus.STOPPED);
    });

    it("GetVoiceAgent refreshes from Agora: an agent Agora stopped reads STOPPED, a failed one carries the error", async () => {
      const a = await asAlice.startVoiceAgent({ channelName: "refresh", remoteUids: ["1"] });
      expect((await asAlice.getVoiceAgent({ agentId: a.agentId })).agent?.status).toBe(VoiceAgentStatus.RUNNING);
      fake.exit(a.agentId);
      const got = await asAlice.getVoiceAgent({ agentId: a.agentId });
      expect(got.agent?.status).toBe(VoiceAgentStatus.STOPPED);
      expect(got.agent?.stoppedAt).toBeDefined();
      const b = await asAlice.startVoiceAgent({ channelName: "refresh", remoteUids: ["1"] });
      fake.exit(b.agentId, "FAILED");
      const failed = await asAlice.getVoiceAgent({ agentId: b.agentId });
      expect(failed.agent).toMatchObject({ status: VoiceAgentStatus.FAILED, lastError: "agent exits with reason: llm failure" });
      await expectError(asAlice.getVoiceAgent({ agentId: "1NT29XUNKNOWN" }), Code.NotFound, "agent_not_found");
    });

    it("Speak and Interrupt reach Agora; refusals for bad text, stopped agents and agents Agora lost", async () => {
      const { agentId } = await asAlice.startVoiceAgent({ channelName: "speak", remoteUids: ["1"] });
      await asAlice.speak({ agentId, text: "Hello there", priority: SpeakPriority.APPEND, interruptable: false });
      expect(fake.calls("speak").at(-1)?.body).toEqual({ text: "Hello there", priority: "APPEND", interruptable: false });
      await asAlice.speak({ agentId, text: "Again" });
      expect(fake.calls("speak").at(-1)?.body).toEqual({ text: "Again", priority: "INTERRUPT", interruptable: true });
      await asAlice.interrupt({ agentId });
      expect(fake.calls("interrupt")).toHaveLength(1);
      expect(fake.violations).toEqual([]);

      expect(fieldOf(await expectError(asAlice.speak({ agentId, text: "" }), Code.InvalidArgument, "invalid_text"))).toBe("text");
      await expectError(asAlice.speak({ agentId, text: "x".repeat(513) }), Code.InvalidArgument, "invalid_text");
      fake.failNext("interrupt", { status: 429, reason: "TooManyRequests" });
      await expectError(asAlice.interrupt({ agentId }), Code.ResourceExhausted, "agora_error");

      // Agora no longer runs it: its 404 comes back, and the record turns STOPPED.
      fake.exit(agentId);
      await expectError(asAlice.speak({ agentId, text: "anyone?" }), Code.NotFound, "agora_error");
      expect((await asAlice.getVoiceAgent({ agentId })).agent?.status).toBe(VoiceAgentStatus.STOPPED);
      await expectError(asAlice.speak({ agentId, text: "anyone?" }), Code.FailedPrecondition, "agent_not_running");
      await expectError(asAlice.interrupt({ agentId }), Code.FailedPrecondition, "agent_not_running");
    });

    it("only the owner (or an admin) sees and controls an agent", async () => {
      const { agentId } = await asAlice.startVoiceAgent({ channelName: "private", remoteUids: ["1"] });
      await expectError(asBob.getVoiceAgent({ agentId }), Code.NotFound, "agent_not_found");
      await expectError(asBob.stopVoiceAgent({ agentId }), Code.NotFound, "agent_not_found");
      await expectError(asBob.speak({ agentId, text: "hi" }), Code.NotFound, "agent_not_found");
      await expectError(asBob.interrupt({ agentId }), Code.NotFound, "agent_not_found");
      expect(fake.agents.get(agentId)?.status).toBe("RUNNING");
      expect((await asBob.listVoiceAgents({ all: true })).agents.map((a) => a.agentId)).not.toContain(agentId);

      expect((await asAdmin.getVoiceAgent({ agentId })).agent?.owner).toBe("alice");
      expect((await asAdmin.listVoiceAgents({})).agents.map((a) => a.agentId)).not.toContain(agentId);
      expect((await asAdmin.listVoiceAgents({ all: true, pageSize: 100 })).agents.map((a) => a.agentId)).toContain(agentId);
      expect((await asAdmin.stopVoiceAgent({ agentId })).status).toBe(VoiceAgentStatus.STOPPED);
    });

    it("lists the caller's agents newest first, paged and filtered", async () => {
      const carol = await createUser(gw.url, admin, "carol");
      const asCarol = voiceClient(gw.url, carol);
      const ids: string[] = [];
      for (const channelName of ["p1", "p2", "p1"]) ids.push((await asCarol.startVoiceAgent({ channelName, remoteUids: ["1"] })).agentId);
      await asCarol.stopVoiceAgent({ agentId: ids[0]! });
      const page1 = await asCarol.listVoiceAgents({ pageSize: 2 });
      expect(page1.agents.map((a) => a.agentId)).toEqual([ids[2], ids[1]]);
      const page2 = await asCarol.listVoiceAgents({ pageSize: 2, pageToken: page1.nextPageToken });
      expect(page2.agents.map((a) => a.agentId)).toEqual([ids[0]]);
      expect(page2.nextPageToken).toBe("");
      expect((await asCarol.listVoiceAgents({ channelName: "p1" })).agents.map((a) => a.agentId)).toEqual([ids[2], ids[0]]);
      expect((await asCarol.listVoiceAgents({ status: VoiceAgentStatus.STOPPED })).agents.map((a) => a.agentId)).toEqual([ids[0]]);
      await expectError(asCarol.listVoiceAgents({ pageToken: "garbage" }), Code.InvalidArgument, "invalid_page_token");
    });

    it("the watchdog stops an agent past its maximum duration", async () => {
      const { agentId, agent } = await asAlice.startVoiceAgent({ channelName: "watchdog", remoteUids: ["1"], maxDurationSeconds: 1n });
      expect(Number(agent?.maxRunUntil?.seconds) - Number(agent?.createdAt?.seconds)).toBeLessThanOrEqual(1);
      await expect.poll(() => fake.agents.get(agentId)?.status, { timeout: 20_000, interval: 100 }).toBe("STOPPED");
      await expect
        .poll(async () => (await asAlice.getVoiceAgent({ agentId })).agent?.status, { timeout: 20_000, interval: 100 })
        .toBe(VoiceAgentStatus.STOPPED);
      expect((await asAlice.getVoiceAgent({ agentId })).agent?.lastError).toMatch(/watchdog: maximum duration/);
      // An agent with time left is untouched.
      const { agentId: young } = await asAlice.startVoiceAgent({ channelName: "watchdog", remoteUids: ["1"] });
      await new Promise((r) => setTimeout(r, 500));
      expect(fake.agents.get(young)?.status).toBe("RUNNING");
    });

    it("never logs a secret, the certificate or a token", async () => {
      await client(TokenService, gw.url, alice.token).getConfig({});
      const text = logs();
      expect(text).toContain("voice agent started");
      for (const secret of SECRETS) expect(text).not.toContain(secret);
      expect(text).not.toMatch(/007eJ[A-Za-z0-9+/=]{10}/);
      for (const join of fake.calls("join")) expect(text).not.toContain((join.body as { properties: { token: string } }).properties.token);
    });
  });
});

describe.each(MODES)("voice not configured (%s)", (mode) => {
  let backend: TestBackend;
  let gw: TestGateway;
  let token: string;
  beforeAll(async () => {
    backend = await createBackend(mode);
    gw = await startTestGateway(backend);
    token = (await loginAdmin(gw.url)).token;
  });
  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
  });

  it("answers FAILED_PRECONDITION voice_not_configured on every voice RPC (after authentication)", async () => {
    const tokens = client(TokenService, gw.url, token);
    const voice = client(VoiceAgentService, gw.url, token);
    await expectError(tokens.getConfig({}), Code.FailedPrecondition, "voice_not_configured");
    await expectError(
      tokens.issueRtcToken({ channelName: "c", user: { case: "uid", value: 1 } }),
      Code.FailedPrecondition,
      "voice_not_configured",
    );
    await expectError(tokens.issueRtmToken({ userId: "u" }), Code.FailedPrecondition, "voice_not_configured");
    await expectError(voice.startVoiceAgent({ channelName: "c", remoteUids: ["1"] }), Code.FailedPrecondition, "voice_not_configured");
    await expectError(voice.stopVoiceAgent({ agentId: "a" }), Code.FailedPrecondition, "voice_not_configured");
    await expectError(voice.getVoiceAgent({ agentId: "a" }), Code.FailedPrecondition, "voice_not_configured");
    await expectError(voice.listVoiceAgents({}), Code.FailedPrecondition, "voice_not_configured");
    await expectError(voice.speak({ agentId: "a", text: "x" }), Code.FailedPrecondition, "voice_not_configured");
    await expectError(voice.interrupt({ agentId: "a" }), Code.FailedPrecondition, "voice_not_configured");
    await expectError(client(TokenService, gw.url).getConfig({}), Code.Unauthenticated);
    expect(await client(AuthService, gw.url, token).verify({})).toMatchObject({ valid: true });
  });
});
